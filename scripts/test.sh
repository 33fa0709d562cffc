#!/usr/bin/env bash
# Run the test matrix with tox, installing tox itself on first use.
# Usage: scripts/test.sh [tox arguments...]   e.g. scripts/test.sh -e py311 -- tests/importhook
# Under CI=true every interpreter of the matrix must exist. Ends with one line
# adding up the pytest results of every environment.
set -uo pipefail
cd "$(dirname "$0")/.."

TOOLS="${SQREEN_TOOLS_VENV:-$HOME/.cache/sqreen-tox}"
if [ ! -x "$TOOLS/bin/tox" ]; then
    python3 -m venv "$TOOLS" &&
        "$TOOLS/bin/pip" install -q "tox>=4.5.1,<4.6" "virtualenv<20.22" || {
        echo "scripts/test.sh: could not install tox into $TOOLS" >&2
        exit 2
    }
fi

# Make every pyenv-installed interpreter findable by its versioned name.
PYENV_ROOT="${PYENV_ROOT:-$HOME/.pyenv}"
if [ -d "$PYENV_ROOT/versions" ]; then
    for bin in "$PYENV_ROOT"/versions/*/bin; do
        PATH="$PATH:$bin"
    done
    export PATH
fi

args=()
if [ "${CI:-}" = "true" ]; then
    args+=(--skip-missing-interpreters false)
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
"$TOOLS/bin/tox" "${args[@]}" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
python3 scripts/sum_results.py "$log"
exit "$status"
