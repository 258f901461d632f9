#!/usr/bin/env bash
# Publishes the web console to a deployed stack (run it after `sam deploy`): builds
# web/console, uploads dist/ to the stack's console bucket (output ConsoleBucketName),
# writes the runtime config.json that points the console at the stack's admin API (output
# ConsoleConfig), and, where the stack has CloudFront, invalidates the files that keep
# their names (index.html, config.json). Hashed assets are cached for a year and never
# deleted by a deploy, so a browser still on the previous index.html loads its own chunks.
# The mobile pages (web/h5) go the same way under h5/ in the same bucket (one origin for the
# console, the staff pages and the sidebar, as WeCom's trusted domain wants), with their own
# h5/config.json pointing at the stack's customer and staff APIs.
#
#   scripts/deploy-web.sh                       # stack scrm-dev (samconfig.toml's default)
#   scripts/deploy-web.sh --stack scrm-prod     # another stack
#   scripts/deploy-web.sh --no-build            # upload the existing web/console/dist
#
# Needs the AWS CLI with credentials for the stack's account and region (AWS_REGION or the
# profile's). In the China Regions the bucket is uploaded the same way; serving it needs
# what docs/ARCHITECTURE.md ("The web console") says.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/lib/h5.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/h5.sh"
cd "$ROOT"

STACK=scrm-dev
BUILD=1
while (($#)); do
    case "$1" in
        --stack)
            STACK="${2:?--stack needs a name}"
            shift
            ;;
        --no-build) BUILD="" ;;
        -h | --help)
            sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
    shift
done

have aws || die "the AWS CLI is required (https://aws.amazon.com/cli/)"

if [[ -n "$BUILD" ]]; then
    ensure_console_deps
    log "building the console (npm run build)"
    (cd "$CONSOLE_DIR" && npm run --silent build)
    ensure_h5_deps
    log "building the mobile pages (npm run build in web/h5)"
    (cd "$H5_DIR" && npm run --silent build)
fi
DIST="$CONSOLE_DIR/dist"
[[ -f "$DIST/index.html" ]] || die "web/console/dist/index.html is missing (build the console first)"

output() { # output KEY: a stack output's value, empty when the stack has none
    aws cloudformation describe-stacks --stack-name "$STACK" \
        --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text | sed 's/^None$//'
}
BUCKET="$(output ConsoleBucketName)"
[[ -n "$BUCKET" ]] || die "stack $STACK has no ConsoleBucketName output (deploy infra/template.yaml first)"
CONFIG="$(output ConsoleConfig)"
[[ -n "$CONFIG" ]] || die "stack $STACK has no ConsoleConfig output"
DISTRIBUTION="$(output ConsoleDistributionId)"

log "uploading web/console/dist to s3://$BUCKET"
# Content-hashed names: cached for a year; old ones stay for browsers on the previous build
# (the bucket's lifecycle expires replaced versions).
aws s3 sync "$DIST/assets" "s3://$BUCKET/assets" --only-show-errors \
    --cache-control 'public, max-age=31536000, immutable'
# Everything else (index.html, icons): revalidated on every load.
aws s3 sync "$DIST" "s3://$BUCKET" --only-show-errors --delete \
    --exclude 'assets/*' --exclude config.json --exclude 'h5/*' --cache-control 'no-cache'
printf '%s\n' "$CONFIG" | aws s3 cp - "s3://$BUCKET/config.json" --only-show-errors \
    --content-type application/json --cache-control 'no-cache'
log "config.json: $CONFIG"

H5_DIST="$H5_DIR/dist"
if [[ -f "$H5_DIST/index.html" ]]; then
    log "uploading web/h5/dist to s3://$BUCKET/h5"
    aws s3 sync "$H5_DIST/assets" "s3://$BUCKET/h5/assets" --only-show-errors \
        --cache-control 'public, max-age=31536000, immutable'
    aws s3 sync "$H5_DIST" "s3://$BUCKET/h5" --only-show-errors --delete \
        --exclude 'assets/*' --exclude config.json --cache-control 'no-cache'
    customer_api="$(output CustomerApiEndpoint)"
    staff_api="$(output StaffApiEndpoint)"
    H5_CONFIG="{\"customerApiBase\": \"${customer_api%/}\", \"staffApiBase\": \"${staff_api%/}\"}"
    printf '%s\n' "$H5_CONFIG" | aws s3 cp - "s3://$BUCKET/h5/config.json" --only-show-errors \
        --content-type application/json --cache-control 'no-cache'
    log "h5/config.json: $H5_CONFIG"
else
    warn "web/h5/dist/index.html is missing: the mobile pages were not uploaded"
fi

if [[ -n "$DISTRIBUTION" ]]; then
    log "invalidating /index.html and /config.json on CloudFront $DISTRIBUTION"
    aws cloudfront create-invalidation --distribution-id "$DISTRIBUTION" \
        --paths /index.html /config.json / /h5/index.html /h5/config.json /h5/sw.js /h5/ --query Invalidation.Id --output text >/dev/null
fi
log "the console: $(output ConsoleUrl)"
