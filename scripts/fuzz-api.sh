#!/usr/bin/env bash
# Fuzzes both HTTP APIs against their contracts (docs/openapi.yaml, docs/customer-api.yaml)
# with schemathesis, on a local stack of its own: DynamoDB Local in memory, the fake WeCom
# server, a tenant with an admin key and a known customer (so a customer token can be
# minted), and the functions, built once and served by the Lambda emulator of `cargo
# lambda` (no reloads), all on free ports and stopped on exit. Every check runs, in the
# examples, coverage and fuzzing phases, positive and negative data, with a fixed seed and
# a bounded number of examples per operation: no server error, no undocumented status, no
# schema-valid request rejected, no response that breaks its schema.
#
#   scripts/fuzz-api.sh                 # both APIs
#   scripts/fuzz-api.sh admin           # one API (admin or customer)
#   FUZZ_EXAMPLES=50 FUZZ_SEED=7 scripts/fuzz-api.sh
#
# Reports (JUnit XML and the failures as pytest reproductions) go to .local/fuzz/report/.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

APIS=(admin customer)
if (($#)); then
    case "$1" in
        admin | customer) APIS=("$1") ;;
        -h | --help)
            sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
fi

SEED="${FUZZ_SEED:-20260301}"
EXAMPLES="${FUZZ_EXAMPLES:-10}"
CORP_ID=wwdemocorp000001
# The fake WeCom server's demo corp (its staff, customers and groups) and its secret.
CONTACT_SECRET=demo-contact-secret
CUSTOMER=wmdemo001
TOKEN=scrmFuzzToken2026
AES_KEY=YBhInA9zdrOFylrdjYm0X4TSWVn9QjX0youLoEzY5TU

RUN_DIR="$LOCAL_DIR/fuzz"
LOG_DIR="$RUN_DIR/logs"
REPORT_DIR="$RUN_DIR/report"
ENV_FILE="$RUN_DIR/env"
rm -rf "$REPORT_DIR"
mkdir -p "$RUN_DIR" "$LOG_DIR" "$REPORT_DIR"

PIDS=()
cleanup() {
    local status=$? i
    trap - EXIT INT TERM
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${PIDS[$i]#*:}" "${PIDS[$i]%%:*}"
    done
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_venv requirements-dev.txt
ensure_dynamodb_local
have schemathesis || die "schemathesis is missing from .local/venv (requirements-dev.txt)"

DDB_PORT="$(free_port)"
start_dynamodb_local "$DDB_PORT" "$RUN_DIR" -inMemory ||
    die "DynamoDB Local did not start (log: $RUN_DIR/dynamodb-local.log)"
PIDS+=("dynamodb-local:$DDB_PID")

WECOM_PORT="$(free_port)"
LAMBDA_PORT="$(free_port)"
cat >"$ENV_FILE" <<EOF
TABLE_PREFIX=fuzz
TENANTS_TABLE=fuzz-tenants
DIRECTORY_TABLE=fuzz-directory
LEDGER_TABLE=fuzz-ledger
TASKS_TABLE=fuzz-tasks
LOCAL_LAMBDA_URL=http://127.0.0.1:$LAMBDA_PORT
WECOM_API_BASE=http://127.0.0.1:$WECOM_PORT/cgi-bin
TOKEN_SIGNING_KEYS="fuzz=$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
SECRETS_LOCAL_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
PUBLIC_BASE_URL=http://127.0.0.1:$LAMBDA_PORT/lambda-url/staff-api
AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DDB_PORT
AWS_ACCESS_KEY_ID=test
AWS_SECRET_ACCESS_KEY=test
AWS_REGION=us-east-1
RUST_LOG=warn
EOF
set -a
# shellcheck disable=SC1090
source "$ENV_FILE"
set +a
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL EVENT_BUS_NAME || true

# The functions the APIs reach: the two APIs, and those their domain events go to.
FUNCTIONS=(admin-api customer-api points-on-event points-jobs sop-on-event directory-resync)
log "building the command line and the functions"
cargo build -q -p scrm
for f in "${FUNCTIONS[@]}"; do
    cargo build -q --bin "$f"
done
# Copies of the binaries: the run serves exactly what was built, whatever changes in the
# working tree meanwhile.
BIN_DIR="$RUN_DIR/bin"
mkdir -p "$BIN_DIR"
for f in scrm "${FUNCTIONS[@]}"; do
    cp "$ROOT/target/debug/$f" "$BIN_DIR/$f"
done
SCRM="$BIN_DIR/scrm"
"$SCRM" tables create >/dev/null

WECOM_PID="$(spawn "$LOG_DIR/fake-wecom.log" "$SCRM" fake-wecom --port "$WECOM_PORT")"
PIDS+=("fake-wecom:$WECOM_PID")
wait_for_http "http://127.0.0.1:$WECOM_PORT/cgi-bin/gettoken" 60 "fake WeCom" "$WECOM_PID" ||
    die "fake WeCom did not start (log: $LOG_DIR/fake-wecom.log)"

ADMIN_KEY="$("$SCRM" tenant add --corp-id "$CORP_ID" --name "Fuzz Shop" \
    --callback-token "$TOKEN" --encoding-aes-key "$AES_KEY" \
    --contact-secret "$CONTACT_SECRET" --app-secret demo-app-secret --agent-id 1000002)"
[[ -n "$ADMIN_KEY" ]] || die "no admin key was issued"

# The Lambda emulator only (no builds, no reloads); each function runs as its own process
# polling it, two of each API so that the fuzzer's two workers are served at once.
WATCH_PID="$(spawn "$LOG_DIR/emulator.log" env -u RUST_LOG cargo lambda watch --only-lambda-apis \
    -A 127.0.0.1 -P "$LAMBDA_PORT")"
PIDS+=("emulator:$WATCH_PID")
BASE="http://127.0.0.1:$LAMBDA_PORT/lambda-url"
deadline=$((SECONDS + 60))
while port_is_free "$LAMBDA_PORT"; do
    kill -0 "$WATCH_PID" 2>/dev/null && ((SECONDS < deadline)) ||
        die "the Lambda emulator did not start (log: $LOG_DIR/emulator.log)"
    sleep 0.2
done
for f in "${FUNCTIONS[@]}"; do
    instances=1
    [[ "$f" == *-api ]] && instances=2
    for ((i = 1; i <= instances; i++)); do
        pid="$(spawn "$LOG_DIR/$f.$i.log" env AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$LAMBDA_PORT/.rt/$f" \
            AWS_LAMBDA_FUNCTION_NAME="$f" AWS_LAMBDA_FUNCTION_VERSION=1 \
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 "$BIN_DIR/$f")"
        PIDS+=("$f:$pid")
    done
done
deadline=$((SECONDS + 60))
until [[ "$(http_code "$BASE/admin-api/v1/whoami" -H "Authorization: Bearer $ADMIN_KEY")" == 200 ]]; do
    ((SECONDS < deadline)) || die "admin-api does not answer GET /v1/whoami (logs: $LOG_DIR/)"
    sleep 0.2
done

# A customer token, minted as a merchant's H5 backend gets one: the demo customer's WeChat
# unionid and openid, which the fake WeCom server maps to the customer.
CUSTOMER_TOKEN="$(curl -sf --max-time 60 -X POST -H "Authorization: Bearer $ADMIN_KEY" \
    -H 'content-type: application/json' \
    -d "{\"unionid\": \"unionid-$CUSTOMER\", \"openid\": \"openid-$CUSTOMER\"}" \
    "$BASE/admin-api/v1/customer-sessions" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')" ||
    die "no customer session for $CUSTOMER (logs: $LOG_DIR/)"

# fuzz NAME SPEC URL BEARER: one schemathesis run over one API.
fuzz() {
    local name="$1" spec="$2" url="$3" bearer="$4"
    log "schemathesis: $name API ($spec), seed $SEED, at most $EXAMPLES examples per operation"
    SCHEMATHESIS_HOOKS="$ROOT/scripts/fuzz_hooks.py" \
        schemathesis --no-color run "$spec" --url "$url" \
        --header "Authorization: Bearer $bearer" \
        --checks all \
        --phases examples,coverage,fuzzing \
        --mode all \
        --seed "$SEED" \
        --max-examples "$EXAMPLES" \
        --workers 2 \
        --request-timeout 30 \
        --suppress-health-check all \
        --generation-database none \
        --report junit,pytest \
        --report-junit-path "$REPORT_DIR/$name.xml" \
        --report-pytest-path "$REPORT_DIR/$name-failures.py"
}

failed=()
for api in "${APIS[@]}"; do
    case "$api" in
        admin) fuzz admin docs/openapi.yaml "$BASE/admin-api" "$ADMIN_KEY" || failed+=(admin) ;;
        customer) fuzz customer docs/customer-api.yaml "$BASE/customer-api" "$CUSTOMER_TOKEN" || failed+=(customer) ;;
    esac
done
if ((${#failed[@]})); then
    die "the ${failed[*]} API broke its contract (reports in .local/fuzz/report/, function logs in $LOG_DIR/)"
fi
log "both APIs kept their contracts"
