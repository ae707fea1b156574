#!/usr/bin/env bash
# The Molecule scenarios under molecule/ against the simulated lab.
#   bash tests/support/molecule.sh              # every scenario (molecule test --all)
#   bash tests/support/molecule.sh -s rollout   # one scenario
# Exits non-zero when any scenario fails. See docs/molecule.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ ! -x .venv/bin/molecule ]]; then
    echo "molecule.sh: .venv/bin/molecule is missing; run 'make venv' first." >&2
    exit 2
fi
export PATH="$PWD/.venv/bin:$PATH"
# Molecule writes its own ansible.cfg per scenario; the scenarios point
# ANSIBLE_COLLECTIONS_PATH at this checkout's collections/.
unset ANSIBLE_CONFIG
# Molecule's working folders (ephemeral directories, one lab per scenario)
# live under ANSIBLE_HOME: keep them inside this checkout, so that two
# checkouts never share a scenario's lab.
export ANSIBLE_HOME="$PWD/.ansible"
# Plain, non-interactive output for CI logs.
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 NO_COLOR=1 PY_COLORS=0 TERM=dumb

if [[ $# -eq 0 ]]; then
    set -- --all
fi
exec molecule test "$@" </dev/null
