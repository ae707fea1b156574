"""Bindings on the server that name a certificate no store holds, declared in the task or not.

An IIS https binding whose certificate left the store fails every TLS handshake
on its port; an Exchange certificate entry with services whose certificate is
gone serves nothing. Both are reported whatever the task declares: the
declared ones are repointed by ``set_iis_binding`` (``iis_binding_mismatch``),
the others need a person, as do http.sys SSL bindings that no IIS site owns
(WinRM over HTTPS, ADFS, ...). The internal transport certificate has its own
finding (``internal_transport_certificate``).
"""

from __future__ import annotations

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.checks.check_run import CheckRun


def binding_targets_missing(run: CheckRun) -> None:
    snapshot = run.ctx.snapshot
    for binding in snapshot.iis_bindings:
        store = snapshot.store_named(binding.store)
        if not binding.thumbprint or store is None or snapshot.find(binding.thumbprint, store):
            continue  # a store the agent does not read (WebHosting) cannot be judged
        repointed = any(b is binding for b, _thumbprint in run.plan.set_iis)
        run.add(
            "binding_certificate_missing",
            f"IIS binding {binding.site} {binding.binding} uses {binding.thumbprint}, which is not in "
            f"LocalMachine\\{store}: every TLS handshake on it fails",
            {"kind": "iis_binding", "site": binding.site, "binding": binding.binding, "thumbprint": binding.thumbprint},
            "set_iis_binding" if repointed else None,
        )
    for sys_binding in snapshot.http_sys_bindings:
        store = snapshot.store_named(sys_binding.store)
        if store is None or snapshot.find(sys_binding.thumbprint, store):
            continue  # a store the agent does not read cannot be judged
        run.add(
            "binding_certificate_missing",
            f"http.sys SSL binding {sys_binding.endpoint} uses {sys_binding.thumbprint}, which is not in "
            f"LocalMachine\\{store}: every TLS handshake on it fails (netsh http show sslcert shows it)",
            {"kind": "http_sys_binding", "endpoint": sys_binding.endpoint, "thumbprint": sys_binding.thumbprint},
        )
    exchange = snapshot.exchange
    for entry in exchange.certificates.values() if exchange is not None else ():
        if entry.services and snapshot.find(entry.thumbprint) is None:
            run.add(
                "binding_certificate_missing",
                f"Exchange has services {', '.join(entry.services)} enabled on {entry.thumbprint}, which is not in "
                "LocalMachine\\My",
                {"kind": "exchange_services", "services": list(entry.services), "thumbprint": entry.thumbprint},
            )
