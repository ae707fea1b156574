"""The layer rules of plugins/plugin_utils (docs/architecture.md), as data, and the reader that checks them.

Every import in every file is read with ``ast`` (inside functions and ``TYPE_CHECKING`` blocks too), so an
edge cannot hide; a dynamic import (``importlib``, ``__import__``) is itself a violation in plugins/.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PLUGINS = ROOT / "plugins"
PACKAGE = "ansible_collections.certwarden.exchange.plugins"
UTILS = f"{PACKAGE}.plugin_utils"
LAYERS = ("_engine", "_wire", "_evidence", "_report", "_runs")

# Standard-library modules that reach outside the process (network, files, processes, clocks, threads)
# or load code by name. The engine judges data it is given; it never fetches any.
ENGINE_FORBIDDEN_STDLIB = frozenset(
    {
        "asyncio",
        "ftplib",
        "glob",
        "http",
        "importlib",
        "io",
        "mmap",
        "multiprocessing",
        "os",
        "pathlib",
        "select",
        "selectors",
        "shutil",
        "signal",
        "smtplib",
        "socket",
        "socketserver",
        "ssl",
        "subprocess",
        "sys",
        "tempfile",
        "threading",
        "time",
        "urllib",
    }
)
ENGINE_THIRD_PARTY = frozenset({"cryptography"})
# Calls that read a clock or the file system, whatever they are called on (the time module is banned whole).
CLOCK_CALLS = frozenset({"now", "utcnow", "today"})
FILE_CALLS = frozenset({"open"})
DYNAMIC_IMPORTS = frozenset({"import_module", "__import__"})


@dataclass(frozen=True)
class Violation:
    path: Path
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.what}"


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, dotted module) for every import.

    ``from <project package> import _wire`` names a layer only in its imported name, so for a project
    package above the layers each imported name is yielded as a module of its own.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if module.startswith("ansible_collections") and _project_layer(module) is None:
                for alias in node.names:
                    yield node.lineno, f"{module}.{alias.name}"
            else:
                yield node.lineno, module


def calls(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, name) of every call: the function's own name or the attribute called."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                yield node.lineno, func.id
            elif isinstance(func, ast.Attribute):
                yield node.lineno, func.attr


def layer_of(path: Path) -> str | None:
    parts = path.relative_to(PLUGINS).parts
    return parts[1] if len(parts) > 2 and parts[0] == "plugin_utils" and parts[1] in LAYERS else None


def _project_layer(module: str) -> str | None:
    if not module.startswith(UTILS + "."):
        return None
    return module[len(UTILS) + 1 :].split(".", maxsplit=1)[0]


def _engine_import_problem(module: str) -> str | None:
    top = module.split(".", maxsplit=1)[0]
    if module.startswith("."):
        return "a relative import (write the absolute name)"
    if top == "ansible_collections":
        layer = _project_layer(module)
        return None if layer == "_engine" else f"imports {module} (the engine imports only the engine)"
    if top in ENGINE_THIRD_PARTY:
        return None
    if top not in sys.stdlib_module_names:
        return f"imports {module} (the engine's only third-party library is cryptography)"
    if top in ENGINE_FORBIDDEN_STDLIB:
        return f"imports {module} (I/O, clocks or dynamic loading: the engine is handed data and time)"
    return None


def engine_violations(path: Path, tree: ast.AST) -> list[Violation]:
    found = [
        Violation(path, line, problem) for line, module in imports(tree) if (problem := _engine_import_problem(module))
    ]
    for line, name in calls(tree):
        if name in CLOCK_CALLS:
            found.append(Violation(path, line, f"calls {name}() (read the clock in the caller; pass the time in)"))
        elif name in FILE_CALLS:
            found.append(Violation(path, line, f"calls {name}() (the engine opens no file)"))
    return found


def layered_violations(path: Path, tree: ast.AST, layer: str) -> list[Violation]:
    """Wire, evidence and report: project imports only from the engine and their own package."""
    found = []
    for line, module in imports(tree):
        target = _project_layer(module)
        if target is not None and target not in ("_engine", layer):
            found.append(Violation(path, line, f"imports {module} ({layer} may import only _engine and itself)"))
    return found


def plugin_violations(path: Path, tree: ast.AST) -> list[Violation]:
    """Rules for every file under plugins/: no test or bench code, no import by name."""
    found = []
    for line, module in imports(tree):
        top = module.split(".")[0]
        if top in ("tests", "bench"):
            found.append(Violation(path, line, f"imports {module} (plugins never import tests or benchmarks)"))
        if module in ("importlib", "importlib.import_module"):
            found.append(Violation(path, line, "imports importlib (write a plain import, which tools can follow)"))
    found.extend(
        Violation(path, line, f"calls {name}() (write a plain import)")
        for line, name in calls(tree)
        if name in DYNAMIC_IMPORTS
    )
    return found


def lab_violations(path: Path, tree: ast.AST) -> list[Violation]:
    """The lab stands for Windows and Exchange: it must not borrow the collection's own code."""
    return [
        Violation(path, line, f"imports {module} (the lab re-implements the agent; it never imports plugins)")
        for line, module in imports(tree)
        if module.split(".")[0] in ("ansible_collections", "plugins")
    ]


def all_violations() -> list[Violation]:
    found: list[Violation] = []
    for path in python_files(PLUGINS):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        found.extend(plugin_violations(path, tree))
        layer = layer_of(path)
        if layer == "_engine":
            found.extend(engine_violations(path, tree))
        elif layer in ("_wire", "_evidence", "_report"):
            found.extend(layered_violations(path, tree, layer))
    for path in python_files(ROOT / "tests" / "lab"):
        found.extend(lab_violations(path, ast.parse(path.read_text(encoding="utf-8"), str(path))))
    return found
