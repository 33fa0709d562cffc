#!/usr/bin/env bash
# Run the test matrix with tox, installing tox itself on first use.
# Usage: scripts/test.sh [tox arguments...]   e.g. scripts/test.sh -e py311
# Under CI=true every interpreter of the matrix must exist.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${SQREEN_TOOLS_VENV:-$HOME/.cache/sqreen-tox}"
if [ ! -x "$TOOLS/bin/tox" ]; then
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/pip" install -q "tox>=4.5.1,<4.6" "virtualenv<20.22"
fi

# Make every pyenv-installed interpreter findable by its versioned name.
if command -v pyenv >/dev/null 2>&1; then
    for bin in "$(pyenv root)"/versions/*/bin; do
        PATH="$PATH:$bin"
    done
    export PATH
fi

args=()
if [ "${CI:-}" = "true" ]; then
    args+=(--skip-missing-interpreters false)
fi
exec "$TOOLS/bin/tox" "${args[@]}" "$@"
