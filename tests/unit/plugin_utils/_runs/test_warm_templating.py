"""The templating warm-up runs in Ansible's main process before any worker forks: it must change no result."""

from __future__ import annotations

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import plain_values
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.warm_up import warm_templating

template_module = pytest.importorskip("ansible.template")
trust_as_template = getattr(template_module, "trust_as_template", None)


@pytest.mark.skipif(trust_as_template is None, reason="ansible-core before 2.19 has no data tagging to warm")
def test_templating_after_the_warm_up_gives_the_same_plain_values() -> None:
    variables = {"thumbprint": "AB" * 20, "services": ["IIS", "SMTP"], "computer": "EX01"}
    arguments = {
        "certificate": {"thumbprint": trust_as_template("{{ thumbprint }}")},
        "services": trust_as_template("{{ services }}"),
        "receive_connectors": [trust_as_template("Default Frontend {{ computer }}")],
        "hybrid_configuration": True,
    }
    expected = {
        "certificate": {"thumbprint": "AB" * 20},
        "services": ["IIS", "SMTP"],
        "receive_connectors": ["Default Frontend EX01"],
        "hybrid_configuration": True,
    }
    warm_templating()
    warm_templating()  # twice is as harmless as once
    rendered = plain_values(Templar(loader=DataLoader(), variables=variables).template(arguments))
    assert rendered == expected
    # Exact classes: a tagged str subclass left behind would pass isinstance().
    assert {type(value).__name__ for value in rendered.values()} <= {"dict", "list", "bool"}
    assert type(rendered["certificate"]["thumbprint"]).__name__ == "str"
