#!/usr/bin/env bash
# The web apps' tests (web/console, the admin console, and web/h5, the mobile pages):
# installs what is missing (npm ci, Debian's Chromium), checks each app's generated API
# client against its OpenAPI files (a drift fails the run), builds both apps, runs their unit
# tests (Vitest), then starts ONE local stack on free ports (DynamoDB Local in memory, the
# tables, the fake WeCom server, the demo tenant with its admin key and console roles, its
# directory re-synced, the functions) with both built apps under `vite preview` (their API
# paths proxied to the functions), and runs both apps' end-to-end tests (Playwright driving
# Chromium; the mobile pages' in mobile emulation) against it: the console's first, then the
# mobile pages'. Everything started is stopped on exit.
#
#   scripts/web-test.sh                        # everything
#   scripts/web-test.sh --e2e                  # the console's end-to-end tests only
#   scripts/web-test.sh --e2e e2e/points.spec.ts   # ... one spec (arguments go to `playwright test`)
#   scripts/web-test.sh --e2e -g 'bulk award'  # ... e.g. a test-name filter
#   scripts/web-test.sh --h5                   # the mobile pages' end-to-end tests only
#   scripts/web-test.sh --h5 e2e/staff.spec.ts # ... one spec
#   scripts/web-test.sh e2e/points.spec.ts     # unit tests, then that console spec
#
# The stack's reminders link to the mobile pages' task center (STAFF_PAGES_URL is the pages'
# preview), and the pages' staff login goes through the fake WeCom's in-app OAuth page (their
# config.json names it).
#
# Screenshots of every page: .local/test/screenshots/ (or SCRM_SCREENSHOTS); Playwright's
# reports and the traces of failed tests: .local/test/e2e/ (console) and .local/test/e2e-h5/
# (mobile pages); the stack's logs, when the run failed: .local/web-test/run.*/logs/.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/lib/h5.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/h5.sh"
cd "$ROOT"

UNIT=1
CONSOLE_E2E=1
H5_E2E=1
PW_ARGS=()
while (($#)); do
    case "$1" in
        --e2e) UNIT="" H5_E2E="" ;;
        --h5) UNIT="" CONSOLE_E2E="" ;;
        -h | --help)
            sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) PW_ARGS+=("$1") ;;
    esac
    shift
done
# Playwright arguments name one app's specs: without --h5, the console's (as before).
[[ -n "$CONSOLE_E2E" && -n "$H5_E2E" && ${#PW_ARGS[@]} -gt 0 ]] && H5_E2E=""

have cargo || die "cargo is required (https://rustup.rs)"
have curl || die "curl is required"

# Each run has its own folder (several runs may overlap on one machine); the screenshots and
# Playwright's report of the last finished run are moved to .local/test/.
mkdir -p "$LOCAL_DIR/web-test" "$LOCAL_DIR/test"
RUN_DIR="$(mktemp -d "$LOCAL_DIR/web-test/run.XXXXXX")"
SHOTS_DIR="${SCRM_SCREENSHOTS:-$LOCAL_DIR/test/screenshots}"
SCRM_SCREENSHOTS="$RUN_DIR/screenshots"
E2E_DIR="$LOCAL_DIR/test/e2e"
mkdir -p "$RUN_DIR/logs" "$SCRM_SCREENSHOTS"

CONSOLE_PID=""
H5_PID=""
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    [[ -n "$CONSOLE_PID" ]] && stop_pid "$CONSOLE_PID" "vite preview"
    [[ -n "$H5_PID" ]] && stop_pid "$H5_PID" "vite preview (web/h5)"
    stack_stop
    # The run's copies of the binaries and its build go; its logs stay when something failed.
    rm -rf "$RUN_DIR/bin" "$RUN_DIR/dist" "$RUN_DIR/h5-dist"
    if ((status == 0)); then
        rm -rf "$RUN_DIR"
    else
        log "this run's stack logs: ${RUN_DIR#"$ROOT"/}/logs/"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start=$SECONDS
step() { log "[$((SECONDS - start))s] $*"; }

ensure_console_deps
ensure_chromium
ensure_h5_deps

# One app's checks: its generated clients against the specs (with the unit tests), its build
# into the run's folder (what is tested is this build, whatever else rebuilds dist/), then
# Vitest.
#   check_app <app dir> <label> <step prefix> <out dir> <build log> <which specs> <regenerate hint>
check_app() {
    local dir="$1" label="$2" prefix="$3" out="$4" build_log="$5" specs="$6" hint="$7"
    if [[ -n "$UNIT" ]]; then
        step "${prefix}npm run api:check (the generated $specs)"
        (cd "$dir" && npm run --silent api:check) || die "$hint"
    fi
    step "${prefix}npm run build"
    (cd "$dir" && npm run --silent build -- --outDir "$out") >"$build_log" 2>&1 || {
        sed 's/^/    /' "$build_log" >&2
        die "$label does not build"
    }
    if [[ -n "$UNIT" ]]; then
        step "${prefix}npm test (Vitest)"
        (cd "$dir" && npm run --silent test)
    fi
}

CONSOLE_OUT="$RUN_DIR/dist"
check_app "$CONSOLE_DIR" "the console" "" "$CONSOLE_OUT" "$RUN_DIR/logs/build.log" \
    "client against docs/openapi.yaml" \
    "src/api/schema.d.ts differs from docs/openapi.yaml: run \`npm run api:gen\` in web/console"
H5_OUT="$RUN_DIR/h5-dist"
check_app "$H5_DIR" "the mobile pages (web/h5)" "web/h5: " "$H5_OUT" "$RUN_DIR/logs/h5-build.log" \
    "clients against docs/customer-api.yaml and docs/staff-api.yaml" \
    "web/h5's API types differ from docs/: run \`npm run api:gen\` in web/h5"

step "starting the local stack"
ensure_venv requirements-dev.txt
ensure_dynamodb_local
stack_build "$RUN_DIR"
# The pages' port is chosen first: the functions' environment names it (reminders' links).
H5_PORT="$(free_port)"
CALLBACK_TOKEN=scrmDemoToken2026
STAFF_PAGES_URL="http://127.0.0.1:$H5_PORT" \
    stack_start "$RUN_DIR" web "Demo Shop" "$CALLBACK_TOKEN" 2 "${STACK_FUNCTIONS[@]}"
stack_demo_setup
start_console_preview "$RUN_DIR/logs" "$LAMBDA_BASE/admin-api" || die "vite preview did not start"
write_h5_config "$H5_OUT" "http://127.0.0.1:$WECOM_PORT"
H5_OUT="$H5_OUT" start_h5_preview "$RUN_DIR/logs" "$LAMBDA_BASE" "$H5_PORT" || die "vite preview (web/h5) did not start"
[[ "$H5_URL" == "http://127.0.0.1:$H5_PORT" ]] ||
    warn "port $H5_PORT was taken: reminders link to it, the pages are at $H5_URL"
step "console at $CONSOLE_URL, mobile pages at $H5_URL, functions at $LAMBDA_BASE"

status=0
if [[ -n "$CONSOLE_E2E" ]]; then
e2e_start=$SECONDS
step "playwright test ${PW_ARGS[*]}"
(cd "$CONSOLE_DIR" && env \
    SCRM_CONSOLE_URL="$CONSOLE_URL" \
    SCRM_ADMIN_API_URL="$LAMBDA_BASE/admin-api" \
    SCRM_ADMIN_KEY="$ADMIN_KEY" \
    SCRM_CORP_ID="$STACK_CORP_ID" \
    SCRM_WECOM_URL="http://127.0.0.1:$WECOM_PORT" \
    SCRM_LAMBDA_URL="http://127.0.0.1:$LAMBDA_PORT" \
    SCRM_SCREENSHOTS="$SCRM_SCREENSHOTS" \
    SCRM_E2E_OUTPUT="$RUN_DIR/e2e" \
    SCRM_CLI="$SCRM" \
    SCRM_CALLBACK_TOKEN="$CALLBACK_TOKEN" \
    SCRM_AES_KEY="$STACK_AES_KEY" \
    CHROMIUM_PATH="$CHROMIUM_PATH" \
    node_modules/.bin/playwright test "${PW_ARGS[@]}") || status=$?
step "console end-to-end tests: $((SECONDS - e2e_start))s"
fi
if [[ -n "$H5_E2E" ]]; then
    e2e_start=$SECONDS
    step "web/h5: playwright test ${PW_ARGS[*]} (mobile emulation)"
    (cd "$H5_DIR" && env \
        SCRM_H5_URL="$H5_URL" \
        SCRM_ADMIN_API_URL="$LAMBDA_BASE/admin-api" \
        SCRM_ADMIN_KEY="$ADMIN_KEY" \
        SCRM_CORP_ID="$STACK_CORP_ID" \
        SCRM_WECOM_URL="http://127.0.0.1:$WECOM_PORT" \
        SCRM_LAMBDA_URL="http://127.0.0.1:$LAMBDA_PORT" \
        SCRM_SCREENSHOTS="$SCRM_SCREENSHOTS" \
        SCRM_E2E_OUTPUT="$RUN_DIR/e2e-h5" \
        CHROMIUM_PATH="$CHROMIUM_PATH" \
        node_modules/.bin/playwright test "${PW_ARGS[@]}") || status=$?
    step "mobile pages' end-to-end tests: $((SECONDS - e2e_start))s"
fi
shots="$(find "$SCRM_SCREENSHOTS" -name '*.png' | wc -l)"
rm -rf "$SHOTS_DIR" "$E2E_DIR"
mkdir -p "$(dirname "$SHOTS_DIR")"
mv "$SCRM_SCREENSHOTS" "$SHOTS_DIR"
[[ -d "$RUN_DIR/e2e" ]] && mv "$RUN_DIR/e2e" "$E2E_DIR"
rm -rf "$LOCAL_DIR/test/e2e-h5"
[[ -d "$RUN_DIR/e2e-h5" ]] && mv "$RUN_DIR/e2e-h5" "$LOCAL_DIR/test/e2e-h5"
step "screenshots: $shots in ${SHOTS_DIR#"$ROOT"/}/; reports and failures' traces: .local/test/e2e/report/index.html, .local/test/e2e-h5/report/index.html"
((status == 0)) || die "end-to-end tests failed"
