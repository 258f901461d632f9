# shellcheck shell=bash
# The mobile pages (web/h5): installing their packages and serving a build with `vite
# preview`, its /customer-api and /staff-api proxied to the functions. Sourced after
# scripts/lib.sh (which provides have, die, log, file_hash, free_port, port_or_free, spawn,
# wait_for_http and stop_pid).
H5_DIR="$ROOT/web/h5"

# ensure_h5_deps: `npm ci` in web/h5 when its lock file changed since the last install.
ensure_h5_deps() {
    have npm || die "npm is required for the mobile pages (Node 20: apt-get install nodejs npm)"
    [[ -f "$H5_DIR/package-lock.json" ]] || die "web/h5/package-lock.json is missing"
    local stamp
    stamp="$H5_DIR/node_modules/.installed-$(file_hash "$H5_DIR/package-lock.json")"
    if [[ ! -f "$stamp" ]]; then
        log "installing the mobile pages' packages (npm ci in web/h5)"
        (cd "$H5_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2) ||
            die "npm ci in web/h5 failed"
        touch "$stamp"
    fi
}

# start_h5_preview RUN_DIR LAMBDA_BASE [PORT]: serves the built pages (H5_OUT, default
# web/h5/dist) with `vite preview` on PORT if free, else on a free port, /customer-api and
# /staff-api proxied to LAMBDA_BASE/customer-api and LAMBDA_BASE/staff-api. Sets H5_PID and
# H5_URL.
start_h5_preview() {
    local run_dir="$1" lambda_base="$2" preferred="${3:-}" port attempt
    mkdir -p "$run_dir"
    for attempt in 1 2 3; do
        if [[ -n "$preferred" && "$attempt" == 1 ]]; then
            port="$(port_or_free "$preferred")"
        else
            port="$(free_port)"
        fi
        H5_PID="$(cd "$H5_DIR" && spawn "$run_dir/h5-preview.log" \
            env SCRM_CUSTOMER_API="$lambda_base/customer-api" SCRM_STAFF_API="$lambda_base/staff-api" \
            node_modules/.bin/vite preview --host 127.0.0.1 --port "$port" --strictPort --outDir "${H5_OUT:-dist}")"
        H5_URL="http://127.0.0.1:$port"
        if wait_for_http "$H5_URL/" 30 "vite preview (web/h5)" "$H5_PID"; then
            export H5_PID H5_URL
            return 0
        fi
        stop_pid "$H5_PID" "vite preview (web/h5)"
    done
    H5_PID=""
    H5_URL=""
    sed 's/^/    /' "$run_dir/h5-preview.log" >&2 || true
    return 1
}

# write_h5_config OUT_DIR WECOM_BASE: the built pages' runtime config.json for a local stack:
# the APIs through the preview's proxy, and the staff login through the fake WeCom server at
# WECOM_BASE (http://127.0.0.1:PORT), whose in-app OAuth page stands in for WeCom's.
write_h5_config() {
    local out="$1" wecom="$2"
    printf '{"customerApiBase": "/customer-api", "staffApiBase": "/staff-api", "wecomOauthBase": "%s/connect/oauth2/authorize"}\n' \
        "$wecom" >"$out/config.json"
}
