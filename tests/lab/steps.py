"""The primitive steps of the agent's ``apply``, executed on a host folder.

Each function returns ``(status, data)`` with status ``changed`` or
``unchanged``, or raises :class:`StepFailed` with the message Windows or
Exchange would give.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from tests.lab import folders, listeners
from tests.lab.faults import Faults
from tests.lab.observer import references_lost_without
from tests.lab.presenting import SERVICES as SERVICE_NAMES
from tests.lab.state import HostState, StoredCert, write_bytes_atomic
from tests.lab.winnames import BadWindowsPath, thumbprint

StepResult = tuple[str, dict[str, Any] | None]
SERVICES = ("IMAP", "POP", "UM", "IIS", "SMTP", "Federation", "UMCallRouter")


class StepFailed(Exception):
    """A step failed the way the Windows cmdlet would."""


# DER of OBJECT IDENTIFIER 1.2.840.113549.1.5.13 (PBES2): present in a PFX encrypted with AES.
PBES2_OID = bytes.fromhex("06092a864886f70d01050d")


def _need(step: dict[str, Any], field: str) -> Any:
    if field not in step:
        raise StepFailed(f"Cannot process step: the field '{field}' is missing.")
    return step[field]


def _thumb(step: dict[str, Any]) -> str:
    return str(_need(step, "thumbprint")).upper()


def _der_cert(step: dict[str, Any]) -> x509.Certificate:
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(_need(step, "der_b64"), validate=True))
    except (ValueError, binascii.Error) as exc:
        raise StepFailed(f"Cannot find the requested object. ASN1 bad tag value met. ({exc})") from None
    if thumbprint(cert) != _thumb(step):
        raise StepFailed(f"The certificate data has thumbprint {thumbprint(cert)}, not {_thumb(step)}.")
    return cert


def _add_public(host: HostState, store: str, step: dict[str, Any]) -> StepResult:
    cert = _der_cert(step)
    if host.find(store, _thumb(step)) is not None:
        return "unchanged", None
    host.add_certificate(store, cert)
    return "changed", None


def install_intermediate(host: HostState, step: dict[str, Any]) -> StepResult:
    return _add_public(host, "CA", step)


def install_root(host: HostState, step: dict[str, Any]) -> StepResult:
    return _add_public(host, "Root", step)


def import_certificate(host: HostState, step: dict[str, Any]) -> StepResult:
    store = str(_need(step, "store"))
    if store not in ("My", "CA", "Root", "AuthRoot", "TrustedPeople", "Disallowed"):
        raise StepFailed(f"The certificate store '{store}' does not exist.")
    return _add_public(host, store, step)


def import_pfx(host: HostState, step: dict[str, Any]) -> StepResult:
    password = step.get("password")
    try:
        data = base64.b64decode(_need(step, "pfx_b64"), validate=True)
        key, cert, _extra = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    except binascii.Error:
        raise StepFailed("The PFX data is not valid base64.") from None
    except ValueError:
        raise StepFailed("The specified network password is not correct.") from None
    if PBES2_OID in data and int(host.info.get("os_build", 17763)) < 17763:
        # Windows before Server 2019 cannot decrypt a PBES2 (AES-256) PFX and reports it as a bad password.
        raise StepFailed("The specified network password is not correct.")
    if cert is None or key is None:
        raise StepFailed("The PFX file holds no certificate with a private key.")
    if thumbprint(cert) != _thumb(step):
        raise StepFailed(f"The PFX holds certificate {thumbprint(cert)}, not {_thumb(step)}.")
    existing = host.find("My", _thumb(step))
    if existing is not None and existing.has_private_key:
        return "unchanged", None
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    host.add_certificate("My", cert, key_pem, friendly_name=step.get("friendly_name") or "", exportable=True)
    return "changed", None


def enable_services(host: HostState, step: dict[str, Any]) -> StepResult:
    _require_exchange(host, "Enable-ExchangeCertificate")
    thumb = _thumb(step)
    wanted = [str(s) for s in _need(step, "services")]
    unknown = [s for s in wanted if s not in SERVICES]
    if unknown:
        raise StepFailed(f"Cannot convert value '{unknown[0]}' to type 'Microsoft.Exchange.Data.AllowedServices'.")
    stored = host.find("My", thumb)
    if stored is None:
        raise StepFailed(f"The certificate with thumbprint {thumb} was not found.")
    if not stored.has_private_key:
        raise StepFailed(
            f"The certificate with thumbprint {thumb} doesn't have a private key and can't be "
            "enabled for these services."
        )
    with host.lock:
        table = host.exchange_certificates()
        entry = table.setdefault(thumb, {"services": []})
        current = list(entry.get("services", []))
        added = [s for s in wanted if s not in current]
        changed = bool(added)
        if added:
            entry["services"] = [s for s in SERVICES if s in current + added]
            host.write_exchange_certificates(table)
        if "SMTP" in wanted and step.get("replace_internal_transport") is True:
            # The agent passes -Force only then, and -Force replaces the internal transport certificate.
            transport = host.transport()
            if transport.get("internal_transport_certificate_thumbprint") != thumb:
                transport["internal_transport_certificate_thumbprint"] = thumb
                host.write_transport(transport)
                changed = True
    return ("changed" if changed else "unchanged"), None


def _require_exchange(host: HostState, cmdlet: str) -> None:
    if not host.has_exchange:
        raise StepFailed(
            f"The term '{cmdlet}' is not recognized as the name of a cmdlet, function, script file, "
            "or operable program."
        )


def _set_connector_field(host: HostState, step: dict[str, Any], field: str, value: Any) -> StepResult:
    kind = _need(step, "kind")
    identity = str(_need(step, "identity"))
    filename = {"send": "send_connectors.json", "receive": "receive_connectors.json"}.get(kind)
    if filename is None:
        raise StepFailed(f"Unknown connector kind '{kind}'.")
    _require_exchange(host, "Set-SendConnector" if kind == "send" else "Set-ReceiveConnector")
    with host.org_lock:
        connectors = host.send_connectors() if kind == "send" else host.receive_connectors()
        for connector in connectors:
            if identity in (connector.get("identity"), connector.get("name")):
                if connector.get(field) == value:
                    return "unchanged", None
                connector[field] = value
                host.write_org(filename, connectors)
                return "changed", None
    raise StepFailed(
        f"The operation couldn't be performed because object '{identity}' couldn't be found on "
        f"'dc01.{host.info.get('fqdn', 'contoso.com').split('.', 1)[-1]}'."
    )


def set_connector(host: HostState, step: dict[str, Any]) -> StepResult:
    return _set_connector_field(host, step, "tls_certificate_name", _need(step, "tls_certificate_name"))


def set_protocol_logging(host: HostState, step: dict[str, Any]) -> StepResult:
    level = _need(step, "level")
    if level not in ("None", "Verbose"):
        raise StepFailed(f"Cannot convert value '{level}' to type 'Microsoft.Exchange.Data.ProtocolLoggingLevel'.")
    return _set_connector_field(host, step, "protocol_logging_level", level)


def set_hybrid(host: HostState, step: dict[str, Any]) -> StepResult:
    _require_exchange(host, "Set-HybridConfiguration")
    value = _need(step, "tls_certificate_name")
    with host.org_lock:
        hybrid = host.hybrid()
        if hybrid is None:
            raise StepFailed("The hybrid configuration was not found. Run the Hybrid Configuration Wizard first.")
        if hybrid.get("tls_certificate_name") == value:
            return "unchanged", None
        hybrid["tls_certificate_name"] = value
        host.write_org("hybrid.json", hybrid)
    return "changed", None


def set_iis_binding(host: HostState, step: dict[str, Any]) -> StepResult:
    site = str(_need(step, "site"))
    binding = str(_need(step, "binding"))
    thumb = _thumb(step)
    if host.find("My", thumb) is None:
        raise StepFailed(f"Cannot find the certificate with thumbprint {thumb} in Cert:\\LocalMachine\\My.")
    with host.lock:
        bindings = host.iis_bindings()
        for entry in bindings:
            if entry.get("site") == site and entry.get("binding") == binding:
                if entry.get("thumbprint") == thumb:
                    return "unchanged", None
                entry["thumbprint"] = thumb
                entry["store"] = "My"
                break
        else:
            _ip, port, header = ([*binding.split(":"), "", "", ""])[:3]
            bindings.append(
                {
                    "site": site,
                    "binding": binding,
                    "port": int(port or 443),
                    "host_header": header,
                    "thumbprint": thumb,
                    "store": "My",
                }
            )
        host.write_iis_bindings(bindings)
    return "changed", None


def backup(host: HostState, step: dict[str, Any]) -> StepResult:
    thumb = _thumb(step)
    store = str(_need(step, "store"))
    directory = str(_need(step, "directory"))
    password = step.get("password")
    stored = host.find(store, thumb)
    if stored is None or step.get("folder") == "fetch":
        return _existing_backup(host, thumb, store, directory, password, in_store=stored is not None)
    # agent.ps1 Get-KeyExportable reads the key's export policy; only an exportable key is backed up as a PFX.
    as_pfx = bool(password) and stored.has_private_key and stored.exportable
    windows_path = directory.rstrip("\\") + "\\" + thumb + (".pfx" if as_pfx else ".cer")
    target = _local(host, windows_path)
    _use_folder(host, step, directory)
    status = "unchanged"
    if not (target.is_file() and _read_back(target, as_pfx, password) == thumb):
        data = export_pfx(stored, password) if as_pfx else stored.der
        write_bytes_atomic(target, data)
        status = "changed"
    read_back = _read_back(target, as_pfx, password)
    if read_back != thumb:
        raise StepFailed(f"The backup {windows_path} reads back as {read_back}, not {thumb}.")
    algorithm = ("AES256_SHA256" if status == "changed" else None) if as_pfx else None
    return status, _backup_data(target, windows_path, as_pfx, read_back, algorithm)


def export_pfx(stored: StoredCert, password: str) -> bytes:
    """Export-PfxCertificate (AES-256, PBES2/SHA-256): Windows refuses a key whose export policy forbids it.

    PFXExportCertStoreEx fails with NTE_BAD_KEY, NTE_BAD_KEY_STATE or NTE_PERM on a non-exportable key
    (docs/lab.md), and the cmdlet says "Cannot export non-exportable private key."
    """
    if not stored.exportable:
        raise StepFailed("Export-PfxCertificate : Cannot export non-exportable private key.")
    key = serialization.load_pem_private_key(stored.key_path.read_bytes(), None)
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(50000)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode())
    )
    return pkcs12.serialize_key_and_certificates(None, key, stored.cert, None, encryption)


def _local(host: HostState, windows_path: str) -> Any:
    try:
        return host.local_path(windows_path)
    except BadWindowsPath as exc:
        raise StepFailed(str(exc)) from None


def _backup_data(target: Any, windows_path: str, as_pfx: bool, read_back: str, algorithm: str | None) -> dict[str, Any]:
    content = target.read_bytes()
    return {
        "path": windows_path,
        "kind": "pfx" if as_pfx else "der",
        "thumbprint_read_back": read_back,
        "sha256": hashlib.sha256(content).hexdigest().upper(),
        "content_b64": base64.b64encode(content).decode("ascii"),
        "pfx_algorithm": algorithm,
    }


def _use_folder(host: HostState, step: dict[str, Any], directory: str) -> None:
    """agent.ps1 ``Use-BackupFolder``: create (and restrict) a folder absent at the read, or compare an
    existing one's owner and DACL with the SDDL the read saw; never change a folder it did not create, nor
    write below a junction or symbolic link that appeared above it since the read."""
    use = str(_need(step, "folder"))
    _local(host, directory)  # a path the lab cannot map fails as the agent's cmdlets would
    now = folders.folder_facts(host, directory)
    if use in ("create", "existing") and now["reparse_parents"]:
        raise StepFailed(
            f"the backup folder {directory} is now below a junction or symbolic link "
            f"({', '.join(now['reparse_parents'])}) that was not there at the read; not writing a backup through it"
        )
    if use == "create":
        if _local(host, directory).exists():
            raise StepFailed(
                f"the backup folder {directory} did not exist at the read and exists now; not using or changing "
                "a folder this run did not create"
            )
        try:
            folders.new_directory(host, directory)
        except FileExistsError as exc:
            raise StepFailed(str(exc)) from None
        folders.set_administrators_only(host, directory)
    elif use == "created":
        if not _local(host, directory).is_dir():
            raise StepFailed(f"the backup folder {directory} is gone")
    elif use == "existing":
        if not now["directory"] or now["reparse_point"] or now["sddl"] != _need(step, "folder_sddl"):
            raise StepFailed(
                f"the backup folder {directory} changed since the read (its owner and permissions are now "
                f"{now['sddl']}); not writing a backup into it"
            )
    else:
        raise StepFailed(f"unknown folder use '{use}'")


def _existing_backup(
    host: HostState, thumb: str, store: str, directory: str, password: str | None, *, in_store: bool = False
) -> StepResult:
    """Hand back the verified backup an earlier run left; for a certificate still in the store (a fetch),
    none is no failure: nothing was removed, and there is nothing to hand back."""
    for as_pfx in (True, False) if password else (False,):
        windows_path = directory.rstrip("\\") + "\\" + thumb + (".pfx" if as_pfx else ".cer")
        target = _local(host, windows_path)
        if target.is_file() and _read_back(target, as_pfx, password) == thumb:
            return "unchanged", _backup_data(target, windows_path, as_pfx, thumb, None)
    if in_store:
        return "unchanged", None
    raise StepFailed(f"there is no verified backup of {thumb} (LocalMachine\\{store}) in {directory}")


def _read_back(path: Any, as_pfx: bool, password: str | None) -> str | None:
    data = path.read_bytes()
    try:
        if as_pfx:
            _key, cert, _extra = pkcs12.load_key_and_certificates(data, (password or "").encode())
        else:
            cert = x509.load_der_x509_certificate(data)
    except ValueError:
        return None
    return thumbprint(cert) if cert is not None else None


def remove(host: HostState, step: dict[str, Any]) -> StepResult:
    thumb = _thumb(step)
    store = str(_need(step, "store"))
    with host.lock:
        # As agent.ps1's Step-Remove: the configuration is read again at the moment of removal,
        # and a certificate something binds (since the controller's read) stays.
        bound = references_lost_without(host, thumb) if store == "My" else []
        if bound:
            named = "; ".join(f"{kind} {ref}" for kind, ref, _key, _value in bound)
            raise StepFailed(f"not removing {thumb} from LocalMachine\\My: it is bound now ({named})")
        if not host.remove_certificate(store, thumb):
            return "unchanged", None
        if store == "My":
            # Exchange forgets a certificate that left the store, services included.
            table = host.exchange_certificates()
            if table.pop(thumb, None) is not None:
                host.write_exchange_certificates(table)
    return "changed", None


def restart_service(host: HostState, step: dict[str, Any]) -> StepResult:
    """Restart-Service: the service loads its certificate and builds its chain from the stores as they are now."""
    service = str(_need(step, "service"))
    known = SERVICE_NAMES if host.has_exchange else ("W3SVC",)
    if service not in known:
        raise StepFailed(f"Cannot find any service with service name '{service}'.")
    keeps_old = Faults.load(host.dir).get("restart_keeps_old", "apply")
    if keeps_old is True or (isinstance(keeps_old, list) and service in keeps_old):
        return "changed", None  # the fault: the service came back with the credential it had
    listeners.restart(host.dir, service)
    return "changed", None


ACTIONS: dict[str, Callable[[HostState, dict[str, Any]], StepResult]] = {
    "install_intermediate": install_intermediate,
    "install_root": install_root,
    "import_certificate": import_certificate,
    "import_pfx": import_pfx,
    "enable_services": enable_services,
    "set_connector": set_connector,
    "set_hybrid": set_hybrid,
    "set_iis_binding": set_iis_binding,
    "set_protocol_logging": set_protocol_logging,
    "backup": backup,
    "remove": remove,
    "restart_service": restart_service,
}
