#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection laid out as
# ansible_collections/certwarden/exchange (ansible-test needs that path and
# refuses a symlinked one). Runs locally, no containers.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv="$repo/.venv/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ansible-test fetches its pip bootstrap script from a host we cannot reach;
# give it our stand-in under the name it looks for.
pip_version=$("$venv/python" - <<'PY'
import re, pathlib, ansible_test
src = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
text = src.read_text()
match = re.search(r"pip='([0-9.]+)'", text)
print(match.group(1) if match else "")
PY
)
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
if [ -n "$pip_version" ]; then
  cp "$repo/tests/support/pip_bootstrap.py" "$cache/get_pip_${pip_version//./_}.py"
fi

# The ignore files must list exactly the files that need it: regenerate, and
# fail if that changed one (commit the new ones).
bash "$repo/tests/sanity/generate-ignores.sh" >/dev/null
if ! git -C "$repo" diff --quiet -- tests/sanity 2>/dev/null \
  || [ -n "$(git -C "$repo" ls-files --others --exclude-standard -- tests/sanity)" ]; then
  echo "tests/sanity/ignore-*.txt are out of date; they have been regenerated: review and commit them" >&2
  exit 1
fi

target="$work/ansible_collections/certwarden/exchange"
mkdir -p "$target"
cd "$repo"
# Tracked and untracked-but-not-ignored files, as they are in the work tree.
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  case "$f" in collections/*) continue ;; esac
  [ -e "$f" ] || continue
  mkdir -p "$target/$(dirname "$f")"
  cp -P "$f" "$target/$f"
done
cd "$target"
git init -q . && git add -A >/dev/null 2>&1 && git -c user.email=ci@example.invalid -c user.name=ci commit -qm sanity >/dev/null
"$venv/ansible-test" sanity --local --python 3.11 --color no "$@"
