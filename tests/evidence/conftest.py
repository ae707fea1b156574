"""Shared fixtures for the evidence tests: one PKI, its PEM files, real SMTP servers."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.pki import TestPki
from tests.support.smtp_servers import (
    AiosmtpdServer,
    PostfixInstance,
    PostfixListener,
    postfix_available,
    write_bundle,
    write_chain_pem,
)


@pytest.fixture(scope="session")
def pki() -> TestPki:
    return TestPki()


@dataclass(frozen=True)
class Case:
    """What one listener sends: a chain file (None: no STARTTLS) and how it speaks TLS."""

    chain_pem: Path | None
    implicit: bool = False


@pytest.fixture(scope="session")
def pem_dir() -> Iterator[Path]:
    # Readable by Postfix's unprivileged daemons is not needed (keys load as root), but
    # the files must outlive any one test.
    with tempfile.TemporaryDirectory(prefix="certwarden-evidence-") as directory:
        yield Path(directory)


@pytest.fixture(scope="session")
def cases(pki: TestPki, pem_dir: Path) -> dict[str, Case]:
    full = write_chain_pem(pem_dir, "full", pki.leaf, pki.chain)
    return {
        "full": Case(full),
        "leaf_only": Case(write_chain_pem(pem_dir, "leaf_only", pki.leaf)),
        "half_chain": Case(write_chain_pem(pem_dir, "half_chain", pki.leaf, pki.chain[:1])),
        "expired": Case(write_chain_pem(pem_dir, "expired", pki.expired, pki.chain)),
        "no_starttls": Case(None),
        "implicit": Case(full, implicit=True),
    }


@pytest.fixture(scope="session")
def trust_root(pki: TestPki, pem_dir: Path) -> Path:
    return write_bundle(pem_dir, "roots", [pki.root])


@pytest.fixture(scope="session")
def postfix(cases: dict[str, Case]) -> Iterator[PostfixInstance]:
    reason = postfix_available()
    if reason:
        pytest.skip(reason)
    instance = PostfixInstance([PostfixListener(name, c.chain_pem, c.implicit) for name, c in cases.items()])
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


class Servers:
    """``endpoint(case)`` -> (port, tls) on the chosen server kind."""

    def __init__(self, kind: str, cases: dict[str, Case], request: pytest.FixtureRequest) -> None:
        self.kind = kind
        self._cases = cases
        self._request = request
        self._stack = contextlib.ExitStack()

    def endpoint(self, case: str) -> tuple[int, str]:
        spec = self._cases[case]
        tls = "implicit" if spec.implicit else "starttls"
        if self.kind == "postfix":
            return self._request.getfixturevalue("postfix").ports[case], tls
        mode = "plain" if spec.chain_pem is None else tls
        server = AiosmtpdServer(spec.chain_pem, mode).start()
        self._stack.callback(server.stop)
        return server.port, tls

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(params=["aiosmtpd", pytest.param("postfix", marks=pytest.mark.postfix)])
def servers(request: pytest.FixtureRequest, cases: dict[str, Case]) -> Iterator[Servers]:
    handle = Servers(request.param, cases, request)
    try:
        yield handle
    finally:
        handle.close()
