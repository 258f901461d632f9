#!/usr/bin/env bash
# The web console's benchmark: builds the console and prints (a) the JavaScript index.html
# loads before any route, gzipped, beside the 300 KB budget, and every on-demand chunk's
# size; (b) the dashboard's time to interactive in headless Chromium on the local stack (a
# fresh browser context per run, logged in, until every chart in view has drawn and the
# page is idle; median of BENCH_RUNS, default 7), beside the login page measured the same
# way in the same run, against the 1.5 s target; (a) also for the mobile pages (web/h5), against their
# 150 KB budget; (c) the customer check-in page's time to interactive (web/h5/bench/
# check-in-tti.mjs) on a phone (375x667, touch) logged in as a demo customer, the built pages
# served as deployed (hashed assets immutable, index.html and config.json no-cache, gzip),
# under two slow-3G profiles set through the DevTools protocol (Network.emulateNetworkConditions):
# Chrome DevTools' "Slow 3G" (2,000 ms latency, 50,000 B/s down: the HTML alone costs two
# round trips, so no first visit can be interactive in 1 s) and WebPageTest's "3G Slow"
# (400 ms RTT, 400 kbps); a first visit (empty cache) and a repeat visit (the page's last
# check-in state shown while the API is asked) with the service worker in control, and again
# with service workers blocked (HTTP cache only), median of BENCH_RUNS beside the
# login page (the smallest page) measured alike, against the 1 s target. Figures only:
# nothing is asserted.
#
#   scripts/bench-web.sh            # all
#   scripts/bench-web.sh --size     # (a) only: no stack, no browser
#   scripts/bench-web.sh --console  # (a) and (b) for the console only: no mobile pages
#   scripts/bench-web.sh --check-in # (c) only: the mobile pages and the stack, no console
#   BENCH_RUNS=15 scripts/bench-web.sh
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/lib/h5.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/h5.sh"
cd "$ROOT"

SIZE_ONLY=""
CHECK_IN_ONLY=""
CONSOLE_ONLY=""
case "${1:-}" in
    "") ;;
    --size) SIZE_ONLY=1 ;;
    --check-in) CHECK_IN_ONLY=1 ;;
    --console) CONSOLE_ONLY=1 ;;
    -h | --help)
        sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown argument: $1 (try --help)" ;;
esac

RUN_DIR="$LOCAL_DIR/bench-web"
mkdir -p "$RUN_DIR/logs"
CONSOLE_PID=""
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    [[ -n "$CONSOLE_PID" ]] && stop_pid "$CONSOLE_PID" "vite preview"
    stack_stop
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# build_and_size NAME DIR LOG BUDGET_KB: builds one app and prints its bundle's sizes against
# its budget (web_bundle.py).
build_and_size() {
    local name="$1" dir="$2" logfile="$RUN_DIR/logs/$3" budget="$4"
    log "building $name (npm run build in ${dir#"$ROOT"/})"
    (cd "$dir" && npm run --silent build) >"$logfile" 2>&1 || {
        sed 's/^/    /' "$logfile" >&2
        die "$name does not build"
    }
    python3 "$ROOT/scripts/lib/web_bundle.py" "$dir/dist" "$budget"
}

if [[ -z "$CHECK_IN_ONLY" ]]; then
    ensure_console_deps
    printf '\n'
    build_and_size "the console" "$CONSOLE_DIR" build.log 300
fi
# The mobile pages (web/h5): the same figures against their own 150 KB budget.
if [[ -z "$CONSOLE_ONLY" ]]; then
    ensure_h5_deps
    printf '\nMobile pages (web/h5):\n'
    build_and_size "the mobile pages" "$H5_DIR" h5-build.log 150
fi
[[ -n "$SIZE_ONLY" ]] && exit 0

have cargo || die "cargo is required (https://rustup.rs)"
ensure_chromium
ensure_venv requirements-dev.txt
ensure_dynamodb_local
stack_build "$RUN_DIR"
stack_start "$RUN_DIR" bench "Demo Shop" scrmDemoToken2026 2 "${STACK_FUNCTIONS[@]}"
stack_demo_setup
if [[ -z "$CHECK_IN_ONLY" ]]; then
    start_console_preview "$RUN_DIR/logs" "$LAMBDA_BASE/admin-api" || die "vite preview did not start"
    log "measuring the dashboard at $CONSOLE_URL (${BENCH_RUNS:-7} runs)"
    printf '\n'
    (cd "$CONSOLE_DIR" && env SCRM_CONSOLE_URL="$CONSOLE_URL" SCRM_ADMIN_API_URL="$LAMBDA_BASE/admin-api" \
        SCRM_ADMIN_KEY="$ADMIN_KEY" SCRM_CORP_ID="$STACK_CORP_ID" CHROMIUM_PATH="$CHROMIUM_PATH" \
        node bench/dashboard-tti.mjs)
fi
[[ -n "$CONSOLE_ONLY" ]] && exit 0
# (c) The customer check-in page on slow 3G.
write_h5_config "$H5_DIR/dist" "http://127.0.0.1:$WECOM_PORT"
log "measuring the customer check-in page on slow 3G (${BENCH_RUNS:-7} runs per profile)"
printf '\n'
(cd "$H5_DIR" && env SCRM_H5_DIST="$H5_DIR/dist" SCRM_LAMBDA_BASE="$LAMBDA_BASE" \
    SCRM_ADMIN_API_URL="$LAMBDA_BASE/admin-api" SCRM_ADMIN_KEY="$ADMIN_KEY" SCRM_CORP_ID="$STACK_CORP_ID" \
    CHROMIUM_PATH="$CHROMIUM_PATH" node bench/check-in-tti.mjs)
