#!/usr/bin/env bash
# make demo: start the lab with the field scenarios, run the nightly check (the
# report shows the broken servers), remediate, check again (all green), and say
# where the HTML report is. The lab is stopped at the end unless KEEP_LAB=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
export PATH="$PWD/.venv/bin:$PATH"
lab_dir=${LAB_DIR:-.lab}
inventory=inventories/lab/hosts.yml
reports=reports/demo
rm -rf "$reports"

python -m tests.lab stop --dir "$lab_dir" >/dev/null 2>&1 || true
python -m tests.lab start --dir "$lab_dir" --scenario field --inventory "$inventory"
if [ "${KEEP_LAB:-0}" != 1 ]; then
  trap 'python -m tests.lab stop --dir "$lab_dir" >/dev/null' EXIT
fi

run() {  # run NAME PLAYBOOK [ARGS...]: one playbook with the fleet report enabled
  local name=$1 playbook=$2
  shift 2
  echo
  echo "=== $name: ansible-playbook $playbook $*"
  ANSIBLE_CALLBACKS_ENABLED=certwarden.exchange.compliance_report \
  CERTWARDEN_REPORT_DIR="$reports/$name" \
  ANSIBLE_DISPLAY_OK_HOSTS=false ANSIBLE_DISPLAY_SKIPPED_HOSTS=false \
    ansible-playbook -i "$inventory" "$playbook" "$@" || true
}

run 1-nightly-check playbooks/compliance.yml
run 2-remediate playbooks/remediate.yml -e certwarden_backup_local_directory="$PWD/$reports/backups" \
  -e certwarden_restart_services=when_needed
run 3-check-again playbooks/compliance.yml

echo
echo "Reports (open report.html in a browser):"
for step in 1-nightly-check 2-remediate 3-check-again; do
  echo "  $PWD/$reports/$step/report.html"
done
