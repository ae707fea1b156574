"""What the user declared a server must look like (built by the action plugins)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.errors import InputError
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.backup_folder import (
    check_backup_directory,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.certificate import (
    Certificate,
    normalize_thumbprint,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.host_parts import ConnectorKind

DUPLICATE_POLICIES = ("remove", "report")
# Ten years: longer than any certificate Exchange is given; a larger value is a typo, and past
# datetime's range it could not even be compared with a certificate's expiry.
MAX_EXPIRY_WARNING_DAYS = 3650
# In a connector name, stands for the computer name the read returned; one declaration then fits every server
# (Exchange names each server's default receive connectors "Default Frontend <SERVER>").
COMPUTER_NAME_PLACEHOLDER = "%COMPUTERNAME%"


@dataclass(frozen=True)
class DesiredState:
    thumbprint: str | None = None
    pfx_certificate: Certificate | None = None  # leaf parsed from the user's PFX by the action plugin
    pfx_b64: str | None = None  # repacked leaf+key PFX for the import_pfx step, AES-256 (secret)
    pfx_legacy_b64: str | None = None  # the same, 3DES with a SHA-1 MAC, for Windows before Server 2019 (secret)
    pfx_password: str | None = None  # secret
    chain: tuple[Certificate, ...] = ()  # user bundle (intermediates, maybe the root)
    install_root: bool = False
    services: tuple[str, ...] = ("SMTP",)
    send_connectors: tuple[str, ...] = ()
    receive_connectors: tuple[str, ...] = ()
    hybrid_configuration: bool = False
    iis_bindings: tuple[str, ...] = ()  # "site:port"
    duplicates: str = "remove"  # remove | report
    expiry_warning_days: int = 30
    backup_directory: str = "C:\\ProgramData\\certwarden\\backup"
    backup_password: str | None = None  # secret
    backup_certificate_only: bool = False  # a copy with a private key may go with a certificate-only backup
    server_fqdn_names: tuple[str, ...] = ()  # names the intended cert must cover (connector FQDNs are added)
    retire: tuple[str, ...] = ()  # thumbprints that must leave My once nothing binds them (normalised here)
    # Enabling SMTP on the intended certificate also makes it the internal transport certificate
    # (Enable-ExchangeCertificate -Force); otherwise only when the current one is being removed or is gone.
    replace_internal_transport: bool = False

    def __post_init__(self) -> None:
        if self.duplicates not in DUPLICATE_POLICIES:
            raise InputError(f"option duplicates: {self.duplicates!r} must be one of {', '.join(DUPLICATE_POLICIES)}")
        if not 0 <= self.expiry_warning_days <= MAX_EXPIRY_WARNING_DAYS:
            raise InputError(
                f"option expiry_warning_days: {self.expiry_warning_days!r} must be between 0 and "
                f"{MAX_EXPIRY_WARNING_DAYS} (days)"
            )
        check_backup_directory(self.backup_directory)
        for ref in self.iis_bindings:
            site, _unused, port = ref.rpartition(":")
            if not site or not port.isdigit():
                raise InputError(f"option iis_bindings: {ref!r} is not of the form 'site:port'")
        if (
            self.thumbprint is not None
            and self.pfx_certificate is not None
            and self.thumbprint != self.pfx_certificate.thumbprint
        ):
            raise InputError(
                f"options thumbprint and pfx disagree: thumbprint is {self.thumbprint} but the PFX holds "
                f"{self.pfx_certificate.thumbprint}"
            )
        if self.pfx_certificate is not None and not self.pfx_b64:
            raise InputError("option pfx: the parsed PFX certificate was given without its pfx_b64 content")
        self._normalize_retire()

    def _normalize_retire(self) -> None:
        # Normalised here, not only in the action plugin, so every caller compares like with like.
        retire = tuple(dict.fromkeys(normalize_thumbprint(value, "retire") for value in self.retire))
        object.__setattr__(self, "retire", retire)
        intended = self.intended_thumbprint
        if intended is None:
            return
        try:
            intended = normalize_thumbprint(intended, "thumbprint")
        except InputError:
            return  # analyse() reports the malformed thumbprint itself
        if intended in retire:
            raise InputError(
                f"option retire: {intended} is the intended certificate; it cannot also be retired "
                "(remove it from retire, or declare the certificate that replaces it)"
            )

    def for_computer(self, computer_name: str) -> DesiredState:
        """This declaration with every ``%COMPUTERNAME%`` in a connector name replaced by ``computer_name``."""
        names = self.send_connectors + self.receive_connectors
        if not any(COMPUTER_NAME_PLACEHOLDER in name.upper() for name in names):
            return self

        def resolved(refs: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(_replace_placeholder(ref, computer_name) for ref in refs)

        return replace(
            self, send_connectors=resolved(self.send_connectors), receive_connectors=resolved(self.receive_connectors)
        )

    @property
    def intended_thumbprint(self) -> str | None:
        if self.thumbprint is not None:
            return self.thumbprint
        return self.pfx_certificate.thumbprint if self.pfx_certificate is not None else None

    def connector_refs(self, kind: ConnectorKind) -> tuple[str, ...]:
        """The connectors of ``kind`` the user named (send_connectors or receive_connectors)."""
        return self.send_connectors if kind is ConnectorKind.SEND else self.receive_connectors

    @property
    def iis_binding_refs(self) -> tuple[tuple[str, int], ...]:
        refs = []
        for ref in self.iis_bindings:
            site, _unused, port = ref.rpartition(":")
            refs.append((site, int(port)))
        return tuple(refs)


def _replace_placeholder(ref: str, computer_name: str) -> str:
    return re.sub(re.escape(COMPUTER_NAME_PLACEHOLDER), lambda _match: computer_name, ref, flags=re.IGNORECASE)
