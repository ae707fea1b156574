"""One warning per host for a run that sends secrets in two applies; ``fail`` stops before the first one."""

from __future__ import annotations

import pytest

from ansible_collections.certwarden.exchange.plugins.plugin_utils._engine.plan.steps import Step
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.action_base import ModuleFailure
from ansible_collections.certwarden.exchange.plugins.plugin_utils._runs.channel import SecretsChannel

RISK = "plain HTTP without message encryption (authentication basic)"
FETCH = [Step(1, "backup", {"thumbprint": "AB", "store": "My", "directory": "C:\\b", "password": "pw-1"}, "")]
RESTORE = [
    Step(1, "import_pfx", {"thumbprint": "AB", "pfx_b64": "eA==", "password": "pw-1"}, ""),
    Step(2, "import_certificate", {"thumbprint": "CD", "store": "My", "der_b64": "eA=="}, ""),
]


def test_two_applies_give_one_warning_naming_everything_sent() -> None:
    channel, result = SecretsChannel("EX02", RISK, "warn"), {}
    channel.before_apply(FETCH, result)
    channel.before_apply(RESTORE, result)
    channel.warn(result)
    assert result["warnings"] == [
        f"the backup password and the PFX and its password would travel to EX02 over {RISK}; "
        "set insecure_channel: fail to refuse this"
    ]
    assert "pw-1" not in str(result)


def test_fail_stops_before_the_first_apply_that_carries_a_secret() -> None:
    channel = SecretsChannel("EX02", RISK, "fail")
    channel.before_apply([Step(1, "import_certificate", {"thumbprint": "CD"}, "")], {})  # no secret: goes on
    with pytest.raises(ModuleFailure) as refused:
        channel.before_apply(RESTORE, {"restored": []})
    assert str(refused.value).startswith("option insecure_channel: the PFX and its password would travel to EX02")


def test_a_verified_channel_says_nothing() -> None:
    channel, result = SecretsChannel("EX02", None, "fail"), {}
    channel.before_apply(RESTORE, result)
    channel.warn(result)
    assert "warnings" not in result
