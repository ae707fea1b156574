"""The layer rules hold over the whole tree, and each rule catches the violation it is there for."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.unit.architecture import layers

ENGINE_FILE = layers.PLUGINS / "plugin_utils" / "_engine" / "analysis.py"
WIRE_FILE = layers.PLUGINS / "plugin_utils" / "_wire" / "transport.py"
ACTION_FILE = layers.PLUGINS / "action" / "cert_facts.py"
LAB_FILE = layers.ROOT / "tests" / "lab" / "agent.py"


def test_no_file_breaks_a_layer_rule() -> None:
    violations = layers.all_violations()
    assert not violations, "layer rules broken (docs/architecture.md):\n" + "\n".join(map(str, violations))


def _engine(source: str) -> list[str]:
    return [v.what for v in layers.engine_violations(ENGINE_FILE, ast.parse(source))]


@pytest.mark.parametrize(
    "source",
    [
        "import socket",
        "import subprocess",
        "from ssl import SSLContext",
        "import select",
        "from pathlib import Path",
        "import os.path",
        "import time",
        "from ansible.errors import AnsibleError",
        f"from {layers.UTILS}._wire.transport import run_agent",
        f"from {layers.UTILS}._evidence import tls_probe",
        f"from {layers.UTILS} import _wire",
        f"from {layers.UTILS}._report.model import FleetReport",
        f"from {layers.UTILS}._runs.action_base import ModuleFailure",
        "import yaml",
        "def f():\n    import socket",
        "data = open('x').read()",
        "import datetime as dt\nnow = dt.datetime.now(dt.UTC)",
        "from datetime import datetime\nstamp = datetime.utcnow()",
    ],
)
def test_the_engine_rule_catches(source: str) -> None:
    assert _engine(source), f"not caught: {source!r}"


@pytest.mark.parametrize(
    "source",
    [
        "import datetime as dt\nlater = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=1)",
        "from cryptography import x509",
        "import base64, binascii, hashlib, re",
        f"from {layers.UTILS}._engine.findings import finding",
    ],
)
def test_the_engine_rule_allows(source: str) -> None:
    assert not _engine(source)


@pytest.mark.parametrize(
    "source",
    [f"from {layers.UTILS}._runs.action_base import ModuleFailure", f"from {layers.UTILS}._report import model"],
)
def test_the_wire_imports_only_the_engine(source: str) -> None:
    assert layers.layered_violations(WIRE_FILE, ast.parse(source), "_wire")


def test_the_wire_may_import_the_engine_and_itself() -> None:
    source = f"from {layers.UTILS}._engine.model.snapshot import Snapshot\nfrom {layers.UTILS}._wire import clixml"
    assert not layers.layered_violations(WIRE_FILE, ast.parse(source), "_wire")


@pytest.mark.parametrize(
    "source",
    [
        "from tests.support.pki import TestPki",
        "import bench.lab_runs",
        "import importlib",
        "from importlib import import_module",
        "module = __import__('x')",
    ],
)
def test_plugins_never_import_tests_or_by_name(source: str) -> None:
    assert layers.plugin_violations(ACTION_FILE, ast.parse(source))


def test_the_lab_never_imports_plugins() -> None:
    source = f"from {layers.UTILS}._engine.model.names import build_tls_certificate_name"
    assert layers.lab_violations(LAB_FILE, ast.parse(source))


def test_every_layer_is_a_package_that_says_what_it_may_import() -> None:
    for layer in layers.LAYERS:
        init = layers.PLUGINS / "plugin_utils" / layer / "__init__.py"
        docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert docstring and "import" in docstring.casefold(), f"{Path(init).relative_to(layers.ROOT)} lacks its rule"
