#!/usr/bin/env bash
# Writes tests/sanity/ignore-2.17.txt, -2.18.txt and -2.19.txt (the same list: the
# collection claims ansible-core 2.17 to 2.19, and each ansible-test reads only
# the file of its own version): the plugin files that import
# cryptography, directly or through a sibling. ansible-test's import sanity
# test runs plugins in a virtual environment with ansible-core's own
# requirements only; cryptography is a documented controller requirement of
# this collection (pyproject.toml, requirements.txt), so those files
# cannot import there. Every other sanity test runs on them.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=tests/sanity/ignore-2.19.txt
.venv/bin/python - > "$out" <<'PY'
import ast, pathlib
root = pathlib.Path("plugins")
files = sorted(p for p in root.rglob("*.py") if "modules" not in p.parts and "doc_fragments" not in p.parts)
prefix = "ansible_collections.certwarden.exchange."
imports = {}
for path in files:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    imports[path] = names
def needs(path, seen=()):
    for name in imports[path]:
        if name.split(".")[0] in ("cryptography", "OpenSSL"):
            return True
        if name.startswith(prefix):
            sibling = pathlib.Path(*name[len(prefix):].split(".")).with_suffix(".py")
            if sibling in imports and sibling not in seen and needs(sibling, (*seen, path)):
                return True
    return False
for path in files:
    if needs(path):
        print(f"{path} import-3.11!skip")
PY
for version in 2.17 2.18; do
  cp "$out" "tests/sanity/ignore-$version.txt"
done
echo "wrote $out and the 2.17 and 2.18 copies ($(wc -l < "$out") entries)"
