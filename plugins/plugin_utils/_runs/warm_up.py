# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pay, once in Ansible's main process, what the first analysis in any process costs.

Ansible forks one worker per host per task from its main process, so a
worker inherits whatever the main process had already done. A process's first
analysis costs several milliseconds more than its second: OpenSSL fetches its
algorithm implementations and decoders on first use, ``cryptography`` sets up
its path builder, and regular expressions and small caches are compiled or
filled on first call. Analysing a made-up server once in the main process,
when a strategy first queues an analysing task (``action_base._WarmsOnceQueued``),
moves that cost out of every worker (measured in docs/benchmarks.md). The
probing actions likewise parse the system's trust bundle and look up the
controller's name once (``warm_probes``). Nothing runs at import.

The made-up server is built here with ``cryptography`` (throwaway EC keys,
nothing read from disk, nothing sent anywhere), and every engine cache is
emptied afterwards, so no result ever depends on it.
"""

from __future__ import annotations

import base64
import datetime as dt
from functools import cache
from typing import Any

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.analysis import analyse, clear_caches
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.desired_state import DesiredState
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.names import (
    build_tls_certificate_name,
    format_windows_dn,
)
from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.model.snapshot import Snapshot
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.probe_wire import controller_fqdn
from ansible_collections.certwarden.exchange.plugins.plugin_utils._evidence.trust_bundle import load_trust
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.plain import plain_values

_SERVER = "WARMUP"
_FQDN = "mail.warm-up.invalid"
_CONNECTOR = "Warm-up"


def _certificate(
    subject: str, issuer: x509.Certificate | None, issuer_key: ec.EllipticCurvePrivateKey | None, now: dt.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    is_ca = issuer is None
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name if is_ca else issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if is_ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = (
            builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(_FQDN)]), critical=False)
        )
    return builder.sign(issuer_key or key, hashes.SHA256()), key


def _entry(cert: x509.Certificate, has_key: bool) -> dict[str, Any]:
    der = cert.public_bytes(Encoding.DER)
    return {
        "thumbprint": cert.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 - Windows names certificates by SHA-1
        "der_b64": base64.b64encode(der).decode("ascii"),
        "subject": format_windows_dn(cert.subject),
        "issuer": format_windows_dn(cert.issuer),
        "has_private_key": has_key,
        "private_key_exportable": None,
        "friendly_name": "",
    }


def sample_read_result(now: dt.datetime) -> dict[str, Any]:
    """A small server in the agent's ``read`` shape: a root, a leaf bound to SMTP and one connector each way."""
    root, root_key = _certificate("Warm-up Root", None, None, now)
    leaf, _unused = _certificate(_FQDN, root, root_key, now)
    leaf_entry = _entry(leaf, has_key=True)
    name = build_tls_certificate_name(leaf_entry["issuer"], leaf_entry["subject"])
    bound = {"thumbprint": leaf_entry["thumbprint"], "services": ["SMTP"], "status": "Valid", "root_ca_type": "None"}
    return {
        "host": {"computer_name": _SERVER, "fqdn": _FQDN, "time_utc": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "os": ""},
        "stores": {"My": [leaf_entry], "CA": [], "Root": [_entry(root, has_key=False)], "AuthRoot": []},
        "exchange": {
            "server": _SERVER,
            "version": "Version 15.2 (Build 1544.4)",
            "certificates": [bound],
            "send_connectors": [
                {
                    "identity": _CONNECTOR,
                    "name": _CONNECTOR,
                    "fqdn": _FQDN,
                    "tls_certificate_name": name,
                    "require_tls": True,
                    "tls_auth_level": "DomainValidation",
                    "tls_domain": None,
                    "cloud_services_mail_enabled": False,
                    "smart_hosts": [],
                    "source_transport_servers": [_SERVER],
                    "protocol_logging_level": "None",
                    "enabled": True,
                }
            ],
            "receive_connectors": [
                {
                    "identity": f"{_SERVER}\\{_CONNECTOR}",
                    "name": _CONNECTOR,
                    "server": _SERVER,
                    "fqdn": _FQDN,
                    "tls_certificate_name": None,
                    "auth_mechanism": ["Tls"],
                    "bindings": ["0.0.0.0:25"],
                    "protocol_logging_level": "None",
                    "enabled": True,
                }
            ],
            "hybrid_configuration": None,
            "transport_service": {
                "internal_transport_certificate_thumbprint": leaf_entry["thumbprint"],
                "send_protocol_log_path": None,
                "receive_protocol_log_path": None,
            },
        },
        "iis_bindings": [],
    }


def sample_desired_state(thumbprint: str) -> DesiredState:
    """What the sample server is asked for: IIS is not bound, so the analysis plans a step, as most runs do."""
    return DesiredState(
        thumbprint=thumbprint,
        services=("SMTP", "IIS"),
        send_connectors=(_CONNECTOR,),
        receive_connectors=(_CONNECTOR,),
    )


def warm_templating() -> None:
    """Template and un-tag arguments shaped like a task's once here, as every worker does first thing.

    A worker templates the task's arguments before the action runs. The first template in a
    process builds Jinja's lexer (a dozen regular expressions; ansible-core keeps it in a class-level
    cache, which a fork inherits) and sets up the compiler; ``plain_values`` then meets ansible-core's
    tagged types for the first time, and each first ``isinstance`` check of a new type against an
    abstract base class walks its class tree. The first use of a filter or test loads its plugin (a
    lookup through the plugin loader and an import), about 7 ms in a fresh worker; the roles' tasks use
    the ones templated here. Paid here once, none of it is paid per task.
    """
    try:
        from ansible.template import trust_as_template  # noqa: PLC0415 - ansible-core 2.19+ only
    except ImportError:  # before data tagging, no tagged types and a different template engine: nothing to warm
        return
    variables = {"warm_up": {"text": _SERVER, "names": [_CONNECTOR], "flag": True, "number": 1}}
    templates = {
        "text": "{{ warm_up.text }}",
        "names": "{{ warm_up.names }}",
        "whole": "{{ warm_up }}",
        # The filters and tests of the roles' probes, failed_when and changed_when expressions.
        "probes": "{{ ([{'port': warm_up.number}] if warm_up.flag | bool else []) | map('combine', "
        "{'host': warm_up.host | default(warm_up.text), 'name': none}) | list }}",
        "changed": "{{ (warm_up.names | default([]) + [warm_up] | map(attribute='names', default=[]) | flatten)"
        " | length > 0 and warm_up.missing is not defined }}",
    }
    arguments = {name: trust_as_template(template) for name, template in templates.items()}  # as a playbook's
    plain_values(arguments)
    plain_values(Templar(loader=DataLoader(), variables=variables).template(arguments))


@cache
def warm_up() -> bool:
    """Analyse a made-up server once per process; True when that worked (it is only ever an optimisation)."""
    try:
        now = dt.datetime.now(dt.UTC)
        snapshot = Snapshot.from_read_result(sample_read_result(now))
        analyse(snapshot, sample_desired_state(snapshot.store("My")[0].thumbprint), now).to_dict()
        warm_templating()
    except Exception:  # a failed warm-up only means each worker pays the cost itself
        return False
    finally:
        clear_caches()
    return True


@cache
def warm_probes() -> bool:
    """Parse the system's trust bundle and look up this controller's name once per process.

    The probes trust the system's bundle unless a task names another (the roles' default). Parsing it
    (some 140 roots, each root's signature checked) costs a worker 7 ms with the engine warm and
    over 40 ms cold; parsed here, in Ansible's main process, every worker reuses it while the file
    is unchanged (``trust_bundle.load_trust``). A bundle a task names is still read by its worker.
    The EHLO name is a reverse DNS lookup, slow where DNS is. True when the system bundle parsed.
    """
    controller_fqdn()
    try:
        load_trust(None)
    except Exception:  # no system bundle, or one that does not parse: each probe then says so itself
        return False
    return True
