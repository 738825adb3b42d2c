#!/usr/bin/env bash
# Re-resolves the pinned, hashed requirements: requirements/lock.txt (everything: services, dev and
# test tools; what `make install` syncs) and requirements/services/<service>.txt (one service's own
# dependencies, at the same versions; what its container image installs).
set -euo pipefail
cd "$(dirname "$0")/.."
UV=.venv/bin/uv
compile() { "$UV" pip compile --generate-hashes --python-version 3.11 -q "$@"; }

compile requirements/dev.in -o requirements/lock.txt
constraints="$(mktemp)"
trap 'rm -f "$constraints"' EXIT
grep -E '^[A-Za-z0-9_.-]+==' requirements/lock.txt | sed 's/ .*//' > "$constraints"
mkdir -p requirements/services
for pyproject in services/*/pyproject.toml; do
    service="$(basename "$(dirname "$pyproject")")"
    compile "$pyproject" -c "$constraints" --no-emit-package sotay-common \
        -o "requirements/services/$service.txt"
done
