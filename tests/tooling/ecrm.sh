#!/usr/bin/env bash
# Entry point of the README's commands (the Makefile calls it): prepares the Python
# virtualenv and the Odoo 19.0 source, then hands over to ecrm.py.
#
# Settings (environment variables):
#   ODOO_SRC   Odoo 19.0 Community source tree (holds odoo-bin)  default: ~/.local/src/odoo-19.0
#   ECRM_VENV  virtualenv for Odoo and the addons                 default: ~/.cache/ecrm/venv
#   PYTHON     interpreter used to create the virtualenv (3.11+)  default: python3
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOLING="$ROOT/tests/tooling"
export ODOO_SRC="${ODOO_SRC:-$HOME/.local/src/odoo-19.0}"
export ECRM_VENV="${ECRM_VENV:-$HOME/.cache/ecrm/venv}"
PYTHON="${PYTHON:-python3}"
ODOO_GIT_URL="https://github.com/odoo/odoo.git"

say() { printf '\033[1m[ecrm]\033[0m %s\n' "$*" >&2; }

ensure_odoo_source() {
    if [ -f "$ODOO_SRC/odoo-bin" ] && [ -d "$ODOO_SRC/addons/sale_management" ]; then
        if ! grep -q "version_info = (19, 0" "$ODOO_SRC/odoo/release.py" 2>/dev/null; then
            say "ODOO_SRC=$ODOO_SRC holds an Odoo that is not 19.0; point ODOO_SRC at an Odoo 19.0 source tree."
            exit 2
        fi
        return
    fi
    say "No Odoo 19.0 source at ODOO_SRC=$ODOO_SRC; trying Odoo's official repository ($ODOO_GIT_URL, branch 19.0)."
    mkdir -p "$(dirname "$ODOO_SRC")"
    if timeout 1200 git clone --quiet --depth 1 --branch 19.0 "$ODOO_GIT_URL" "$ODOO_SRC.partial" 2>/dev/null; then
        mv "$ODOO_SRC.partial" "$ODOO_SRC"
        say "Odoo 19.0 cloned into $ODOO_SRC."
        return
    fi
    rm -rf "$ODOO_SRC.partial"
    cat >&2 <<EOF
[ecrm] Odoo 19.0 Community could not be downloaded from this machine.
       Put an Odoo 19.0 Community source tree (the folder that holds odoo-bin, odoo/ and addons/)
       at $ODOO_SRC, or tell the project where one is:
           export ODOO_SRC=/path/to/odoo-19.0
       For example, on a machine with network access:
           git clone --depth 1 --branch 19.0 $ODOO_GIT_URL /path/to/odoo-19.0
       or download https://nightly.odoo.com/19.0/nightly/src/odoo_19.0.latest.tar.gz and unpack it.
EOF
    exit 2
}

ensure_venv() {
    local stamp want
    want=$(cat "$TOOLING"/requirements-*.txt | sha256sum | cut -c1-16)
    stamp="$ECRM_VENV/.ecrm-requirements"
    if [ -x "$ECRM_VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return
    fi
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        say "Odoo 19.0 needs Python 3.11 or newer; set PYTHON to such an interpreter."
        exit 2
    fi
    if [ ! -x "$ECRM_VENV/bin/python" ]; then
        say "Creating the virtualenv $ECRM_VENV"
        mkdir -p "$(dirname "$ECRM_VENV")"
        "$PYTHON" -m venv "$ECRM_VENV"
    fi
    say "Installing the tested runtime requirements into $ECRM_VENV (first run only)"
    "$ECRM_VENV/bin/pip" install --quiet --disable-pip-version-check "setuptools<70" wheel
    "$ECRM_VENV/bin/pip" install --quiet --disable-pip-version-check --no-build-isolation \
        -r "$TOOLING/requirements-odoo19.txt" \
        -r "$TOOLING/requirements-ecrm.txt" \
        -r "$TOOLING/requirements-dev.txt"
    echo "$want" > "$stamp"
}

ensure_odoo_source
ensure_venv
exec "$ECRM_VENV/bin/python" "$TOOLING/ecrm.py" "$@"
