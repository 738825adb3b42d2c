#!/usr/bin/env bash
# Installs what `make run` and `make test` need and is missing: Debian packages (as root),
# the Python virtual environment with the pinned lock, and Apache Kafka's jars.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

GROUPS_WANTED="${SOTAY_DEB_GROUPS:-all}"
VENV="${SOTAY_VENV:-.venv}"
UV_VERSION="0.13.9"

log() { printf '\033[1;34m[bootstrap]\033[0m %s\n' "$*" >&2; }

install_debian_packages() {
    local missing=() line name version groups group
    while read -r line; do
        line="${line%%#*}"
        [ -z "${line// }" ] && continue
        read -r spec groups <<<"$line"
        name="${spec%%=*}"; version="${spec#*=}"
        local wanted=0
        for group in ${groups//,/ }; do
            # "all" is what make run and make test need; benchmark tools are asked for by name
            [[ "$GROUPS_WANTED" == all && "$group" != bench ]] && wanted=1
            [[ " $GROUPS_WANTED " == *" $group "* ]] && wanted=1
        done
        [ "$wanted" = 1 ] || continue
        if ! dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$name=$version")
        fi
    done < requirements/debian.txt
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        log "missing Debian packages (run as root to install): ${missing[*]}"; exit 1
    fi
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    local resolved=() pkg
    for pkg in "${missing[@]}"; do
        name="${pkg%%=*}"; version="${pkg#*=}"
        if apt-cache madison "$name" | awk '{print $3}' | grep -qxF "$version"; then
            resolved+=("$pkg")
        else
            log "pinned $pkg is no longer on the mirror; taking the bookworm candidate of $name"
            resolved+=("$name")
        fi
    done
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${resolved[@]}" >/dev/null
}

find_python() {
    for candidate in python3.11 /usr/bin/python3.11; do
        if command -v "$candidate" >/dev/null 2>&1; then command -v "$candidate"; return 0; fi
    done
    log "Python 3.11 not found"; exit 1
}

install_venv() {
    local stamp="$VENV/.lock-stamp" want
    want="$(cat requirements/lock.txt $(ls libs/*/pyproject.toml services/*/pyproject.toml web/pyproject.toml 2>/dev/null) | sha256sum | cut -c1-16)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating $VENV"
        "$(find_python)" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install -q "uv==$UV_VERSION"
    log "installing the pinned Python packages"
    "$VENV/bin/uv" pip sync --python "$VENV/bin/python" -q requirements/lock.txt
    echo "$want" > "$stamp"
}

install_debian_packages
install_venv
# Further pieces (Kafka's jars, model files taken out of wheels, ...): each script in
# scripts/install.d is idempotent, runs in name order, and gets the venv's python as $PY.
export PY="$PWD/$VENV/bin/python"
for step in scripts/install.d/*.sh; do
    [ -e "$step" ] || continue
    bash "$step"
done
