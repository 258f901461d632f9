#!/usr/bin/env bash
# Builds every function the way a deployment does: `sam build` (samconfig.toml, x86_64 by
# default) runs cargo-lambda from the workspace root for each function of
# infra/template.yaml. All of them ship the one multi-call binary `scrm-lambda`, so the first
# build compiles and links it and the other ten find it fresh. Then prints each function's
# bootstrap size, raw and zipped, and fails if one passes MAX_BOOTSTRAP_MIB (default 12; the
# project's budget, far under Lambda's limits of 50 MB zipped and 250 MB unzipped; it was 8
# until the twelfth function, envelope encryption and key scopes took the binary past it, 9
# until the customer sidebar, customer search and the check-in page's read took it to 9.06,
# 10 until group codes and the rota schedule took it to 10.22, and 11 until smart forms, the
# content center, fission's coupons and events and tracked links' visitor OAuth took it to
# 11.61 MiB, 5.13 MiB zipped).
#
#   scripts/sam-build.sh                         # dev config: x86_64
#   scripts/sam-build.sh --config-env prod       # arm64 (needs the aarch64 Rust target)
#   Extra arguments go to `sam build`.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

have cargo || die "cargo is required (https://rustup.rs)"
ensure_venv requirements-dev.txt requirements-deploy.txt

# No telemetry or update checks (they would only wait on the network).
export SAM_CLI_TELEMETRY=0
export SAM_CLI_DISABLE_VERSION_CHECK=1
export AWS_REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-ap-southeast-1}}"

# No unwind tables for the deployed code: with `panic = "abort"` nothing unwinds, and the
# tables (.eh_frame) only served panic backtraces, which Lambda's logs do without (the panic's
# message and location are still logged). About 170 KB of the binary. Only here, not in
# .cargo/config.toml: the tests unwind (their harness catches panics).
export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C force-unwind-tables=no"

start=$SECONDS
log "sam build $*"
sam build "$@"
elapsed=$((SECONDS - start))

python3 - "$ROOT/.aws-sam/build" "${MAX_BOOTSTRAP_MIB:-12}" <<'EOF'
import io, os, sys, zipfile

build = sys.argv[1]
limit_mib = float(sys.argv[2])
rows = []
for name in sorted(os.listdir(build)):
    path = os.path.join(build, name, "bootstrap")
    if not os.path.isfile(path):
        continue
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(path, "bootstrap")
    rows.append((name, os.path.getsize(path), len(buf.getvalue())))
if not rows:
    sys.exit("no bootstrap binaries under .aws-sam/build")
print()
print(f"{'function':<28} {'bootstrap':>12} {'zipped':>12}")
for name, raw, zipped in rows:
    print(f"{name:<28} {raw / 2**20:>9.2f} MiB {zipped / 2**20:>9.2f} MiB")
print(f"{len(rows)} functions, {sum(r[1] for r in rows) / 2**20:.2f} MiB in all")
over = [name for name, raw, _ in rows if raw > limit_mib * 2**20]
if over:
    sys.exit(f"bootstrap over {limit_mib:g} MiB: {', '.join(over)}")
EOF
log "sam build took ${elapsed}s"
