"""Rooms small enough to hold in one head: no Python file in plugins/ over 400 lines, no function over 60."""

from __future__ import annotations

import ast

from tests.unit.architecture.layers import PLUGINS, ROOT, python_files

MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60


def test_no_plugin_file_is_over_400_lines() -> None:
    long = {}
    for path in python_files(PLUGINS):
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > MAX_FILE_LINES:
            long[str(path.relative_to(ROOT))] = lines
    assert not long, f"split these files (at most {MAX_FILE_LINES} lines): {long}"


def test_no_plugin_function_is_over_60_lines() -> None:
    long = {}
    for path in python_files(PLUGINS):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"] = length
    assert not long, f"split these functions (at most {MAX_FUNCTION_LINES} lines): {long}"
