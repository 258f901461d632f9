#!/usr/bin/env bash
# The layering is held by the build: scrm-core (the domain and its use cases) must not
# depend, even transitively, on a crate that talks to a network. CI runs this before the
# tests; tests/it/layers.rs asserts the same from inside the test run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
forbidden='^(aws-[a-z0-9-]+|lambda_[a-z_]+|reqwest|hyper|hyper-[a-z-]+|axum|axum-[a-z-]+|tower|tower-http) v'
tree="$(cargo tree -p scrm-core -e normal --prefix none --locked)"
if found="$(grep -E "$forbidden" <<<"$tree" | sort -u)"; [[ -n "$found" ]]; then
    echo "scrm-core depends on crates that talk to a network:" >&2
    echo "$found" >&2
    exit 1
fi
echo "scrm-core: no SDK, Lambda or HTTP crate among its $(sort -u <<<"$tree" | wc -l) dependencies"
