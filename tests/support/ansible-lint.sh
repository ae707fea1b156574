#!/usr/bin/env bash
# ansible-lint, production profile, on the collection's roles and playbooks.
set -euo pipefail
cd "$(dirname "$0")/../.."
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
export ANSIBLE_COLLECTIONS_PATH="$PWD/collections"
exec .venv/bin/ansible-lint --offline --profile production roles/compliance roles/rollout playbooks "$@"
