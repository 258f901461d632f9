#!/usr/bin/env bash
# The benchmark command: starts DynamoDB Local in memory on a free port, then runs the
# benchmarks in release mode; each prints its figures beside a baseline measured in the
# same run. Stops DynamoDB Local whatever happens.
#
#   scripts/bench.sh                     # callbacks, points, SOP dispatch and the welcome latency
#   scripts/bench.sh callbacks sop       # a subset
#   scripts/bench.sh links               # tracked links' redirect latency
#   scripts/bench.sh posters             # fission posters rendered per inviter
#   scripts/bench.sh peak                # the peak simulator (write units per partition at the
#                                        # largest tenant's 09:00; a few minutes, not in the default set;
#                                        # PEAK_SCALE=100 divides the tenant's populations)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

have cargo || die "cargo is required (https://rustup.rs)"
ensure_venv requirements-dev.txt
ensure_dynamodb_local

benches=("$@")
if ((${#benches[@]} == 0)); then
    benches=(callbacks points sop welcome)
fi
for b in "${benches[@]}"; do
    case "$b" in
        callbacks | points | sop | welcome | links | posters | peak) ;;
        *) die "unknown benchmark '$b' (callbacks, points, sop, welcome, links, posters, peak)" ;;
    esac
done

RUN_DIR="$LOCAL_DIR/bench"
mkdir -p "$RUN_DIR"
DDB_PID=""
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [[ -n "$DDB_PID" ]]; then
        stop_pid "$DDB_PID" "DynamoDB Local"
    fi
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

export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DDB_PORT"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL LOCAL_LAMBDA_URL EVENT_BUS_NAME || true

# The `bench` profile: speed-tuned (opt-level 3, thin LTO), as these figures have always been
# measured; the release profile is tuned for the deployed binary's size.
# (Cargo writes the built-in bench profile's output to target/release.)
cargo build --profile bench -q -p scrm-tests --bins
for b in "${benches[@]}"; do
    log "bench_$b"
    "target/release/bench_$b"
done
