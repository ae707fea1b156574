"""No name that ansible-test's pylint rejects (``bad-names`` of its collection configuration).

ansible-test sanity runs pylint only in the full ``make test``; this catches the same names in the
unit suite, which every landing runs, so a loop variable named ``_`` fails in seconds.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from tests.unit.architecture import layers

# ansible-test 2.19, _util/controller/sanity/pylint/config/collection.cfg, bad-names.
BAD_NAMES = frozenset({"_", "bar", "baz", "foo", "tata", "toto", "tutu"})
CHECKED = ("plugins", "tests", "bench")


def bad_names(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Variables, arguments and functions named with a name pylint disallows."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in BAD_NAMES:
            yield node.lineno, node.id
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            # Named arguments of a def; pylint leaves *args / **kwargs and lambdas (``lambda *_: True``) alone.
            named = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            yield from ((arg.lineno, arg.arg) for arg in named if arg.arg in BAD_NAMES)
            if node.name in BAD_NAMES:
                yield node.lineno, node.name


def test_no_python_file_uses_a_name_ansible_tests_pylint_rejects() -> None:
    found = [
        f"{path.relative_to(layers.ROOT)}:{line}: {name}"
        for top in CHECKED
        for path in sorted((layers.ROOT / top).rglob("*.py"))
        for line, name in bad_names(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not found, "names ansible-test's pylint rejects (disallowed-name):\n" + "\n".join(found)


def test_a_loop_variable_named_underscore_is_caught() -> None:
    assert list(bad_names(ast.parse("for _ in range(3):\n    pass\n"))) == [(1, "_")]
    assert list(bad_names(ast.parse("for _round in range(3):\n    pass\n"))) == []
