#!/usr/bin/env bash
# The test command: installs what is missing (into .local/ and node_modules/), starts
# DynamoDB Local in memory and moto's server (the local SQS) on free ports, lints the SAM template, then runs every test of
# the workspace in one `cargo test` process, and stops DynamoDB Local whatever happens;
# then, when it ran everything, the web console's tests (scripts/web-test.sh: unit tests and
# end-to-end tests in Chromium on a local stack of their own).
#
#   scripts/test.sh                  # everything
#   SCRM_SKIP_WEB=1 scripts/test.sh  # everything but the web console's tests
#   scripts/test.sh --web-only       # the web console's tests only (further arguments go to
#                                    # scripts/web-test.sh)
#   scripts/test.sh -p scrm-core     # extra arguments go to `cargo test` (Rust tests only)
#   scripts/test.sh -- points::      # ... including test-name filters
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

if [[ "${1:-}" == --web-only ]]; then
    shift
    exec "$ROOT/scripts/web-test.sh" "$@"
fi
# The web console's tests run with the whole suite, not with a filtered Rust run.
WEB=""
if (($# == 0)) && [[ "${SCRM_SKIP_WEB:-}" != 1 ]]; then
    WEB=1
fi

have cargo || die "cargo is required (https://rustup.rs)"
have curl || die "curl is required"

ensure_venv requirements-dev.txt
ensure_dynamodb_local

RUN_DIR="$LOCAL_DIR/test"
mkdir -p "$RUN_DIR"
DDB_PID=""
CARGO_PID=""
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n "$CARGO_PID" ]] && kill -0 "$CARGO_PID" 2>/dev/null; then
        # shellcheck disable=SC2046 # one pid per word
        kill -TERM "$CARGO_PID" $(descendants "$CARGO_PID") 2>/dev/null || true
        wait "$CARGO_PID" 2>/dev/null || true
    fi
    if [[ -n "$DDB_PID" ]]; then
        stop_pid "$DDB_PID" "DynamoDB Local"
    fi
    stop_moto
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A port picked free can be taken before Java binds it: try a few.
for attempt in 1 2 3; do
    DDB_PORT="$(free_port)"
    if start_dynamodb_local "$DDB_PORT" "$RUN_DIR" -inMemory; then
        break
    fi
    stop_pid "$DDB_PID" "DynamoDB Local"
    DDB_PID=""
    ((attempt < 3)) || die "DynamoDB Local did not start (log: $RUN_DIR/dynamodb-local.log)"
done
log "DynamoDB Local (in memory) on 127.0.0.1:$DDB_PORT"
MOTO_PID=""
start_moto_on_free_port "$RUN_DIR/moto.log" || die "moto server did not start (log: $RUN_DIR/moto.log)"
log "moto server (SQS) on 127.0.0.1:$MOTO_PORT"

export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DDB_PORT"
export AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$MOTO_PORT"
# The same moto server is the local S3 (the content center's uploaded files).
export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$MOTO_PORT"
export AWS_ACCESS_KEY_ID=test
# The fake WeCom server serves its QR codes on loopback: pictures may come from private hosts.
export PICTURES_ALLOW_PRIVATE_HOSTS=true
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL LOCAL_LAMBDA_URL EVENT_BUS_NAME || true

log "cfn-lint infra/template.yaml (ap-southeast-1, cn-north-1)"
cfn-lint --regions ap-southeast-1 cn-north-1 -- infra/template.yaml

log "cargo test --workspace $*"
# In the background and waited for, so that an interrupt or SIGTERM stops it and DynamoDB
# Local at once (bash defers traps while a foreground command runs).
# One log per run: two runs at once (a developer and an editor, say) must not mix.
TEST_LOG="$(mktemp "$RUN_DIR/cargo-test.XXXXXX.log")"
cargo test --workspace "$@" >"$TEST_LOG" 2>&1 &
CARGO_PID=$!
# Shows the output as it comes; ends by itself once cargo has exited and all is printed.
tail -n +1 -f --pid="$CARGO_PID" "$TEST_LOG" &
TAIL_PID=$!
status=0
wait "$CARGO_PID" || status=$?
wait "$TAIL_PID" || true
# One closing line for the whole run: cargo prints a result per test binary, and the last
# ones (doc tests) say "0 passed".
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "all tests: %d passed, %d failed\n", p, f }' "$TEST_LOG"
if ((status != 0)) || [[ -z "$WEB" ]]; then
    exit "$status"
fi

# The browser tests bring their own stack: this DynamoDB Local is not needed any more.
stop_pid "$DDB_PID" "DynamoDB Local"
DDB_PID=""
stop_moto
log "scripts/web-test.sh (SCRM_SKIP_WEB=1 skips it)"
"$ROOT/scripts/web-test.sh"
