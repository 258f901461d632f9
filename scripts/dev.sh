#!/usr/bin/env bash
# Runs the whole system locally and stays in the foreground until Ctrl-C:
#   DynamoDB Local (data kept in .local/ddb-data), moto's server (the local SQS: the SOP
#   dispatch queue, its messages moved to sop-dispatch-worker as Lambda's event source
#   mapping does), the tables, the fake WeCom server with the
#   demo corp, a demo tenant, every function under `cargo lambda watch` (rebuilt when the code
#   changes; domain events delivered to the functions through the routing table), a few
#   simulated WeCom callbacks, and what they produced, read back through the admin API, and
#   the web console, built and served by `vite preview` (its /admin-api proxied to the
#   functions).
#
#   scripts/dev.sh           # run until Ctrl-C, following the functions' log
#   scripts/dev.sh --once    # set up, run the demo, print, stop everything (a smoke test)
#   scripts/dev.sh --quiet   # run until Ctrl-C without following the log
#
# Ports: DynamoDB Local 8000, moto 5000, fake WeCom 8400, functions 9000, console 4173; a busy port is
# replaced by a free one (printed). Everything started here is stopped on exit.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/lib/h5.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/h5.sh"
cd "$ROOT"

ONCE=""
FOLLOW=1
for arg in "$@"; do
    case "$arg" in
        --once) ONCE=1 ;;
        --quiet) FOLLOW="" ;;
        -h | --help)
            sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument: $arg (try --help)" ;;
    esac
done

# The demo tenant: the fake WeCom server's demo corp (it serves it with demo staff,
# customers and groups), with its secrets, and callback settings of our own (an
# EncodingAESKey is 43 characters of base64). scripts/make-callback-events.py uses the same.
DEMO_CORP_ID=wwdemocorp000001
DEMO_NAME="Demo Shop"
DEMO_TOKEN=scrmDemoToken2026
DEMO_AES_KEY=YBhInA9zdrOFylrdjYm0X4TSWVn9QjX0youLoEzY5TU
DEMO_CONTACT_SECRET=demo-contact-secret
DEMO_APP_SECRET=demo-app-secret
DEMO_AGENT_ID=1000002
TABLE_PREFIX=scrm

FUNCTIONS=(wecom-callback admin-api customer-api staff-api points-on-event growth-on-event growth-rota points-jobs
    points-expiry-sweep sop-dispatch sop-dispatch-worker sop-on-event sop-result-sync
    directory-resync callback-sweep link-redirect link-notify)

RUN_DIR="$LOCAL_DIR/dev"
LOG_DIR="$RUN_DIR/logs"
DATA_DIR="$LOCAL_DIR/ddb-data"
ENV_FILE="$LOCAL_DIR/env"
KEY_FILE="$LOCAL_DIR/demo-admin-key"
mkdir -p "$RUN_DIR" "$LOG_DIR" "$DATA_DIR"

have cargo || die "cargo is required (https://rustup.rs)"
have curl || die "curl is required"

# --- processes ---------------------------------------------------------------------------
# Each background process is recorded in .local/dev/<name>.pid, so that a run that was killed
# hard (its own clean-up never ran) is cleaned up by the next one.
PIDS=()
record() { # record NAME PID
    echo "$2" >"$RUN_DIR/$1.pid"
    PIDS+=("$1:$2")
}
stop_all() {
    local i entry
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        entry="${PIDS[$i]}"
        stop_pid "${entry#*:}" "${entry%%:*}"
        rm -f "$RUN_DIR/${entry%%:*}.pid"
    done
    PIDS=()
}
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if ((${#PIDS[@]})); then
        log "stopping the local stack"
        stop_all
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

stop_stale() {
    local f pid name
    for f in "$RUN_DIR"/*.pid; do
        [[ -e "$f" ]] || continue
        pid="$(cat "$f")"
        name="$(basename "$f" .pid)"
        # Only a process of ours: in the repository, with the expected command line.
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
            tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qE 'DynamoDBLocal|moto_server|sqs-to-lambda|fake-wecom|lambda watch|vite preview|tail'; then
            log "stopping $name left over from an earlier run (pid $pid)"
            stop_pid "$pid" "$name"
        fi
        rm -f "$f"
    done
}
stop_stale

# --- tools -------------------------------------------------------------------------------
ensure_venv requirements-dev.txt
ensure_dynamodb_local

# --- DynamoDB Local ----------------------------------------------------------------------
DDB_PORT="$(port_or_free 8000)"
start_dynamodb_local "$DDB_PORT" "$RUN_DIR" -dbPath "$DATA_DIR" ||
    die "DynamoDB Local did not start (log: $RUN_DIR/dynamodb-local.log)"
record dynamodb-local "$DDB_PID"
log "DynamoDB Local on 127.0.0.1:$DDB_PORT (data in .local/ddb-data)"

# --- the local SQS (moto's server): the SOP dispatch queue ---------------------------------
MOTO_PORT="$(port_or_free 5000)"
start_moto "$MOTO_PORT" "$LOG_DIR/moto.log" || die "moto server did not start (log: $LOG_DIR/moto.log)"
record moto "$MOTO_PID"
SQS_URL="http://127.0.0.1:$MOTO_PORT"
DISPATCH_QUEUE_URL="$(sqs_create_queue "$SQS_URL" "$TABLE_PREFIX-sop-dispatch" 30)" ||
    die "could not create the dispatch queue (log: $LOG_DIR/moto.log)"
log "moto server (SQS) on $SQS_URL, dispatch queue $DISPATCH_QUEUE_URL"

# --- environment (.local/env: read by the CLI here and by `cargo lambda watch`) -----------
WECOM_PORT="$(port_or_free 8400)"
LAMBDA_PORT="$(port_or_free 9000)"
# The mobile pages' port, chosen now: reminders link to their task center.
STAFF_PAGES_URL=""
if have npm && [[ -f "$H5_DIR/package.json" ]]; then
    H5_PORT="$(port_or_free 4174)"
    STAFF_PAGES_URL="http://127.0.0.1:$H5_PORT"
fi
if [[ ! -s "$LOCAL_DIR/signing-key" ]]; then
    python3 -c 'import secrets; print(secrets.token_hex(32))' >"$LOCAL_DIR/signing-key"
fi
# The local stand-in for the KMS key that seals tenant secrets and cached access tokens.
if [[ ! -s "$LOCAL_DIR/secrets-key" ]]; then
    python3 -c 'import secrets; print(secrets.token_hex(32))' >"$LOCAL_DIR/secrets-key"
fi
chmod 600 "$LOCAL_DIR/signing-key" "$LOCAL_DIR/secrets-key"
cat >"$ENV_FILE" <<EOF
TABLE_PREFIX=$TABLE_PREFIX
TENANTS_TABLE=$TABLE_PREFIX-tenants
DIRECTORY_TABLE=$TABLE_PREFIX-directory
LEDGER_TABLE=$TABLE_PREFIX-ledger
TASKS_TABLE=$TABLE_PREFIX-tasks
LOCAL_LAMBDA_URL=http://127.0.0.1:$LAMBDA_PORT
WECOM_API_BASE=http://127.0.0.1:$WECOM_PORT/cgi-bin
WECOM_LOGIN_BASE=http://127.0.0.1:$WECOM_PORT
WECHAT_API_BASE=http://127.0.0.1:$WECOM_PORT/mp
WECHAT_OAUTH_BASE=http://127.0.0.1:$WECOM_PORT/mp/connect/oauth2/authorize
PUBLIC_WEB_ORIGINS=${PUBLIC_WEB_ORIGINS:-http://127.0.0.1:4174,http://localhost:4174}
TOKEN_SIGNING_KEYS="local=$(cat "$LOCAL_DIR/signing-key")"
SECRETS_LOCAL_KEY=$(cat "$LOCAL_DIR/secrets-key")
PUBLIC_BASE_URL=http://127.0.0.1:$LAMBDA_PORT/lambda-url/staff-api
LINKS_BASE_URL=http://127.0.0.1:$LAMBDA_PORT/lambda-url/link-redirect
STAFF_PAGES_URL=$STAFF_PAGES_URL
AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DDB_PORT
AWS_ENDPOINT_URL_SQS=$SQS_URL
SOP_DISPATCH_QUEUE_URL=$DISPATCH_QUEUE_URL
AWS_ENDPOINT_URL_S3=$SQS_URL
CONTENT_BUCKET=$TABLE_PREFIX-content
AWS_ACCESS_KEY_ID=test
AWS_SECRET_ACCESS_KEY=test
AWS_REGION=us-east-1
RUST_LOG=info
EOF
set -a
# shellcheck disable=SC1090
source "$ENV_FILE"
set +a
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL EVENT_BUS_NAME || true

scrm() { cargo run -q -p scrm -- "$@"; }

# --- tables, fake WeCom, demo tenant -----------------------------------------------------
log "building the scrm command line"
cargo build -q -p scrm
log "creating tables"
scrm tables create
# The content center's bucket on the same moto server (an existing one answers 409: kept).
case "$(http_code "$SQS_URL/$CONTENT_BUCKET" -X PUT)" in
    200 | 409) ;;
    *) die "could not create the content bucket on moto (log: $LOG_DIR/moto.log)" ;;
esac

log "starting the fake WeCom server on 127.0.0.1:$WECOM_PORT"
WECOM_PID="$(spawn "$LOG_DIR/fake-wecom.log" cargo run -q -p scrm -- fake-wecom --port "$WECOM_PORT")"
record fake-wecom "$WECOM_PID"
wait_for_http "http://127.0.0.1:$WECOM_PORT/cgi-bin/gettoken" 120 "fake WeCom" "$WECOM_PID" ||
    die "fake WeCom did not start (log: $LOG_DIR/fake-wecom.log)"

log "registering the demo tenant $DEMO_CORP_ID"
new_key="$(scrm tenant add --corp-id "$DEMO_CORP_ID" --name "$DEMO_NAME" \
    --callback-token "$DEMO_TOKEN" --encoding-aes-key "$DEMO_AES_KEY" \
    --contact-secret "$DEMO_CONTACT_SECRET" --app-secret "$DEMO_APP_SECRET" \
    --agent-id "$DEMO_AGENT_ID" --if-missing)"
if [[ -n "$new_key" ]]; then
    printf '%s\n' "$new_key" >"$KEY_FILE"
elif [[ ! -s "$KEY_FILE" ]]; then
    # The tenant survived in .local/ddb-data but its key file is gone: issue another key.
    scrm tenant key --corp-id "$DEMO_CORP_ID" --role admin --name dev >"$KEY_FILE"
fi
chmod 600 "$KEY_FILE"
# A demo tenant kept in .local/ddb-data from before secrets were sealed: seal it now.
scrm tenant seal-secrets >/dev/null
ADMIN_KEY="$(tr -d '[:space:]' <"$KEY_FILE")"

# --- functions ---------------------------------------------------------------------------
# Build each function first, the way watch runs it (`cargo run --bin <name>`: one package's
# features), so that watch finds them built instead of compiling each on its first request.
log "building the functions"
for f in "${FUNCTIONS[@]}"; do
    cargo build -q --bin "$f"
done

log "starting the functions (cargo lambda watch) on 127.0.0.1:$LAMBDA_PORT"
WATCH_PID="$(spawn "$LOG_DIR/functions.log" env -u RUST_LOG cargo lambda watch -A 127.0.0.1 -P "$LAMBDA_PORT" \
    --env-file "$ENV_FILE")"
record functions "$WATCH_PID"
# What Lambda's event source mapping does in a deployment: the dispatch queue's messages to
# sop-dispatch-worker (invoking sop-dispatch enqueues them).
PUMP_PID="$(spawn "$LOG_DIR/sqs-to-lambda.log" python3 "$ROOT/scripts/lib/sqs-to-lambda.py" pump \
    --endpoint "$SQS_URL" --queue-url "$DISPATCH_QUEUE_URL" \
    --invoke-url "http://127.0.0.1:$LAMBDA_PORT/2015-03-31/functions/sop-dispatch-worker/invocations")"
record sqs-to-lambda "$PUMP_PID"

BASE="http://127.0.0.1:$LAMBDA_PORT"
CALLBACK_URL="$BASE/lambda-url/wecom-callback/callback/$DEMO_CORP_ID"

# wait_for_function NAME URL [CURL ARGS...]: polls until watch listens, then until the
# function answers; prints the HTTP status, or "timeout" when a started function does not
# answer within PROBE_TIMEOUT seconds (they are built already, so they start at once).
PROBE_TIMEOUT="${PROBE_TIMEOUT:-60}"
wait_for_function() {
    local name="$1" url="$2" code rc deadline=$((SECONDS + 120))
    shift 2
    while :; do
        rc=0
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time "$PROBE_TIMEOUT" "$@" "$url")" || rc=$?
        if ((rc == 28)); then
            echo timeout
            return 0
        elif [[ "$code" != "000" && -n "$code" ]]; then
            echo "$code"
            return 0
        fi
        kill -0 "$WATCH_PID" 2>/dev/null || die "cargo lambda watch exited (log: $LOG_DIR/functions.log)"
        ((SECONDS < deadline)) || die "$name did not answer within 120 s (log: $LOG_DIR/functions.log)"
        sleep 0.2
    done
}
code="$(wait_for_function admin-api "$BASE/lambda-url/admin-api/v1/whoami" -H "Authorization: Bearer $ADMIN_KEY")"
if [[ "$code" != 200 ]]; then
    warn "admin-api answered $code to GET /v1/whoami (log: $LOG_DIR/functions.log)"
fi
callback_code="$(wait_for_function wecom-callback "$CALLBACK_URL")"
log "functions answer (admin-api $code, wecom-callback $callback_code)"

# --- a few simulated WeCom callbacks -----------------------------------------------------
simulate() {
    local kind="$1"
    shift
    log "simulating WeCom callback: $kind $*"
    if ! scrm simulate "$kind" --url "$CALLBACK_URL" --corp-id "$DEMO_CORP_ID" \
        --token "$DEMO_TOKEN" --aes-key "$DEMO_AES_KEY" "$@"; then
        warn "simulate $kind failed (function log: $LOG_DIR/functions.log)"
    fi
}
if [[ "$callback_code" == timeout || "$callback_code" == 5* ]]; then
    warn "wecom-callback does not answer ($callback_code); skipping the simulated callbacks (log: $LOG_DIR/functions.log)"
else
    simulate verify
    simulate add-contact --user-id zhangsan --external-user-id wmdemo001 --state ch01
    simulate add-contact --user-id lisi --external-user-id wmdemo003 --state ch02
    simulate chat-add-member --chat-id wrdemo001 --external-user-id wmdemo002
fi

# --- a full re-sync from the fake WeCom server --------------------------------------------
# admin-api publishes ResyncRequested; the local publisher delivers it to directory-resync,
# which reads every customer and group of the demo corp from the fake WeCom server.
admin() { # admin METHOD PATH: prints the body; fails on a non-2xx status
    curl -sf --max-time 60 -X "$1" -H "Authorization: Bearer $ADMIN_KEY" "$BASE/lambda-url/admin-api$2"
}
json_field() { python3 -c 'import json, sys; v = json.load(sys.stdin)
for k in sys.argv[1].split("."): v = v[k]
print(v)' "$1"; }

log "requesting a full directory re-sync (POST /v1/directory/resync)"
if job_id="$(admin POST /v1/directory/resync | json_field job.job_id)"; then
    deadline=$((SECONDS + 120))
    status=pending
    while [[ "$status" == pending || "$status" == running ]] && ((SECONDS < deadline)); do
        status="$(admin GET "/v1/directory/resync/$job_id" | json_field status || echo unknown)"
        [[ "$status" == pending || "$status" == running ]] && sleep 0.5
    done
    log "re-sync $job_id: $status"
else
    warn "POST /v1/directory/resync failed (log: $LOG_DIR/functions.log)"
fi

# --- demo activity: check-ins, points, a reward, a plan (idempotent) -----------------------
# Through the use cases themselves, so the console's dashboard and lists have something to show.
log "seeding demo activity (scrm demo seed)"
scrm demo seed --corp-id "$DEMO_CORP_ID" || warn "scrm demo seed failed"

# --- console roles: the demo corp's first admin and an operator --------------------------
# Set with the demo admin key, as a new tenant's first admin does; setting a role again
# changes nothing, so a re-run keeps the roles.
for grant in zhangsan:admin lisi:operator; do
    userid="${grant%%:*}" role="${grant#*:}"
    if curl -sf --max-time 60 -X PUT -H "Authorization: Bearer $ADMIN_KEY" \
        -H 'content-type: application/json' -d "{\"role\": \"$role\"}" \
        "$BASE/lambda-url/admin-api/v1/console/members/$userid" >/dev/null; then
        log "console role: $userid is $role"
    else
        warn "console role for $userid not set (log: $LOG_DIR/functions.log)"
    fi
done

# --- the demo corp's official account (the fake's, under /mp): the customer pages' login ----
# The fake's DEMO_OFFICIAL_APP_ID / DEMO_OFFICIAL_SECRET; setting it again changes nothing.
if curl -sf --max-time 60 -X PUT -H "Authorization: Bearer $ADMIN_KEY" \
    -H 'content-type: application/json' \
    -d '{"app_id": "wxdemoofficial0001", "secret": "demoofficialsecret00000000000001"}' \
    "$BASE/lambda-url/admin-api/v1/tenant/official-account" >/dev/null; then
    log "official account: wxdemoofficial0001 (WeChat users: 小明 follows, 小红 does not)"
else
    warn "official account not configured (log: $LOG_DIR/functions.log)"
fi

# --- a channel code with its welcome, and a customer who scanned it -----------------------
# Created once (the Idempotency-Key names it; a re-run answers 200 with the same code); the
# scan is played only when the code was just created, so a re-run counts nothing twice.
code_body='{"name": "门店海报", "kind": "single",
  "rota": {"shifts": [{"userid": "zhangsan", "weekdays": [1,2,3,4,5,6,7], "start": "00:00", "end": "24:00"}], "backup": ["lisi"]},
  "welcome": {"text": "你好 {customer_name}，我是 {staff_name}。每天签到领积分：{points_link}",
              "points_page_url": "POINTS_PAGE"},
  "remark_template": "海报-{customer_name}"}'
# The customers' points page is the mobile pages' home.
code_body="${code_body/POINTS_PAGE/http://127.0.0.1:${H5_PORT:-4174}/}"
code_status="$(curl -s -o "$LOG_DIR/demo-channel-code.json" -w '%{http_code}' --max-time 60 -X POST \
    -H "Authorization: Bearer $ADMIN_KEY" -H 'content-type: application/json' \
    -H 'Idempotency-Key: demo-channel-code' -d "$code_body" \
    "$BASE/lambda-url/admin-api/v1/growth/channel-codes")" || code_status=000
if [[ "$code_status" == 201 ]]; then
    code_state="$(json_field state <"$LOG_DIR/demo-channel-code.json")"
    log "channel code $code_state (门店海报) created; a customer scans it"
    if scan="$(curl -sf --max-time 30 -X POST \
        "http://127.0.0.1:$WECOM_PORT/_fake/scan?corp_id=$DEMO_CORP_ID&state=$code_state&external_userid=wmdemo004&name=%E5%B0%8F%E5%88%9A")"; then
        simulate add-contact --user-id "$(printf '%s' "$scan" | json_field userid)" \
            --external-user-id wmdemo004 --state "$code_state" \
            --welcome-code "$(printf '%s' "$scan" | json_field welcome_code)" \
            --create-time "$(printf '%s' "$scan" | json_field at)"
    else
        warn "the fake WeCom server did not play the scan"
    fi
elif [[ "$code_status" == 200 ]]; then
    log "channel code 门店海报: already there"
else
    warn "channel code not created ($code_status; log: $LOG_DIR/functions.log)"
fi

# --- what it produced --------------------------------------------------------------------
show() { # show PATH: GET an admin list and print one line per item
    local path="$1" body
    # shellcheck disable=SC2016 # the command is printed for the reader to copy, unexpanded
    printf '\n$ curl -H "Authorization: Bearer $(cat .local/demo-admin-key)" %s\n' "$BASE/lambda-url/admin-api$path"
    if ! body="$(admin GET "$path")"; then
        warn "GET $path failed (log: $LOG_DIR/functions.log)"
        return 0
    fi
    printf '%s' "$body" | python3 "$ROOT/scripts/lib/summarize.py" "$path" || printf '%s\n' "$body"
}
show /v1/customers
show /v1/groups

# --- the web console -----------------------------------------------------------------------
CONSOLE_URL=""
if have npm && [[ -f "$CONSOLE_DIR/package.json" ]]; then
    ensure_console_deps
    log "building the web console (npm run build; log: .local/dev/logs/console-build.log)"
    if (cd "$CONSOLE_DIR" && npm run --silent build) >"$LOG_DIR/console-build.log" 2>&1; then
        if start_console_preview "$LOG_DIR" "$BASE/lambda-url/admin-api" 4173; then
            record console "$CONSOLE_PID"
        else
            warn "vite preview did not start (log: $LOG_DIR/console-preview.log)"
        fi
    else
        warn "the web console does not build (log: $LOG_DIR/console-build.log)"
    fi
else
    warn "npm is missing: the web console is not served"
fi

# --- the mobile pages (web/h5) -------------------------------------------------------------
H5_URL=""
if have npm && [[ -f "$H5_DIR/package.json" ]]; then
    ensure_h5_deps
    log "building the mobile pages (npm run build in web/h5; log: .local/dev/logs/h5-build.log)"
    if (cd "$H5_DIR" && npm run --silent build) >"$LOG_DIR/h5-build.log" 2>&1; then
        write_h5_config "$H5_DIR/dist" "http://127.0.0.1:$WECOM_PORT"
        if start_h5_preview "$LOG_DIR" "$BASE/lambda-url" "$H5_PORT"; then
            record h5 "$H5_PID"
        else
            warn "vite preview of web/h5 did not start (log: $LOG_DIR/h5-preview.log)"
        fi
    else
        warn "the mobile pages do not build (log: $LOG_DIR/h5-build.log)"
    fi
fi

cat <<EOF

The local stack is up.
  DynamoDB Local   http://127.0.0.1:$DDB_PORT   (data in .local/ddb-data; delete it to start empty)
  SQS (moto)       $SQS_URL   (sop-dispatch enqueues; .local/dev/logs/sqs-to-lambda.log
                   shows the messages moved to sop-dispatch-worker)
  fake WeCom       http://127.0.0.1:$WECOM_PORT/cgi-bin   (demo corp $DEMO_CORP_ID)
  functions        $BASE   (cargo lambda watch; rebuilt when the code changes)
  environment      .local/env    logs  .local/dev/logs/
  demo tenant      $DEMO_CORP_ID, admin API key in .local/demo-admin-key

Function URLs:
  wecom-callback   $CALLBACK_URL
  admin-api        $BASE/lambda-url/admin-api/v1/...   (Authorization: Bearer <admin key>)
  customer-api     $BASE/lambda-url/customer-api/...
  staff-api        $BASE/lambda-url/staff-api/...
Event and scheduled functions (invoke with a sample payload from events/):
EOF
for f in points-on-event growth-on-event growth-rota points-jobs sop-on-event directory-resync points-expiry-sweep sop-dispatch sop-result-sync callback-sweep link-notify; do
    sample="events/$f.json"
    [[ -f "$sample" ]] || sample="<payload.json>"
    printf '  %-18s cargo lambda invoke --invoke-address 127.0.0.1 --invoke-port %s %s --data-file %s\n' \
        "$f" "$LAMBDA_PORT" "$f" "$sample"
done
cat <<EOF
Callbacks:
  cargo run -q -p scrm -- simulate add-contact --url $CALLBACK_URL \\
      --corp-id $DEMO_CORP_ID --token $DEMO_TOKEN --aes-key $DEMO_AES_KEY
EOF
if [[ -n "$CONSOLE_URL" ]]; then
    cat <<EOF

Web console: $CONSOLE_URL   (vite preview of web/console/dist; /admin-api proxied to the functions)
  WeCom scan login: corp id $DEMO_CORP_ID, then on the fake WeCom scan page
      (http://127.0.0.1:$WECOM_PORT/wwlogin/sso/login) confirm as 张三 (zhangsan, admin)
      or 李四 (lisi, operator)
  API key login: the "API key" tab with the key in .local/demo-admin-key
  After editing web/console: npm run build there (the preview serves dist), or
      cd web/console && SCRM_ADMIN_API=$BASE/lambda-url/admin-api npm run dev
EOF
fi

if [[ -n "$H5_URL" ]]; then
    cat <<EOF

Mobile pages: $H5_URL   (vite preview of web/h5/dist; /customer-api and /staff-api proxied)
  Customer pages (as from the official account menu): $H5_URL/?corp_id=$DEMO_CORP_ID
  Staff task center: a reminder's link (textcard in the fake WeCom's app messages:
      http://127.0.0.1:$WECOM_PORT/_fake/app-messages?corp_id=$DEMO_CORP_ID), or
      $H5_URL/?app=staff&corp_id=$DEMO_CORP_ID&agent_id=$DEMO_AGENT_ID (WeCom's in-app login,
      on the fake WeCom's page: choose 张三)
  Customer sidebar outside WeCom: $H5_URL/#/staff/sidebar?external_userid=<id> (after a staff login)
  After editing web/h5: npm run build there, or
      cd web/h5 && SCRM_CUSTOMER_API=$BASE/lambda-url/customer-api SCRM_STAFF_API=$BASE/lambda-url/staff-api npm run dev
EOF
fi

# --- schedules -----------------------------------------------------------------------------
# What EventBridge Scheduler does in a deployment: the template's scheduled functions invoked
# on their rates (SOP dispatch, rotas and fission holds, sweeps). With --once, each once, and a
# failure fails the smoke test.
if [[ -n "$ONCE" ]]; then
    log "invoking each scheduled function once (log: .local/dev/logs/schedules.log)"
    python3 "$ROOT/scripts/lib/schedules.py" run --once --template "$ROOT/infra/template.yaml" \
        --invoke-base "$BASE" >"$LOG_DIR/schedules.log" 2>&1 ||
        die "a scheduled function failed (log: $LOG_DIR/schedules.log)"
    log "--once: done"
    exit 0
fi
if [[ "${SCRM_DEV_SCHEDULES:-1}" != 0 ]]; then
    SCHEDULES_PID="$(spawn "$LOG_DIR/schedules.log" python3 "$ROOT/scripts/lib/schedules.py" run \
        --template "$ROOT/infra/template.yaml" --invoke-base "$BASE")"
    record schedules "$SCHEDULES_PID"
    printf '\nScheduled functions run on their rates (SCRM_DEV_SCHEDULES=0 turns them off; log: .local/dev/logs/schedules.log).\n'
fi

if [[ -n "$FOLLOW" ]]; then
    printf '\nFollowing the functions log (Ctrl-C stops everything):\n\n'
    setsid tail -n 0 -F "$LOG_DIR/functions.log" </dev/null &
    record tail "$!"
else
    printf '\nCtrl-C stops everything.\n'
fi

# Stay in the foreground; stop everything if one of the services dies.
while sleep 1; do
    for entry in "${PIDS[@]}"; do
        if ! kill -0 "${entry#*:}" 2>/dev/null; then
            die "${entry%%:*} exited (logs in .local/dev/)"
        fi
    done
done
