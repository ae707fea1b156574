"""Every command agent.ps1 and the bootstrap call exists, with every named parameter, wherever they run.

Where: Windows PowerShell 5.1 with the Windows Server 2016, 2019, 2022 and 2025
modules, and Exchange 2016, 2019 and SE. The facts are
fixtures/powershell-compat/commands.json (its sources in SOURCE.md); the script
is parsed with tree-sitter-powershell. Parameters passed by splatting a
hashtable (``@params``) are checked through that hashtable's literal keys and
``$params['Key'] = ...`` assignments in the same function.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tree_sitter import Node

from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.transport import BOOTSTRAP, load_agent_script
from tests.contract.test_agent_ps1 import parse, walk
from tests.lab.exchange_shell import AGENT_CMDLETS

FACTS = json.loads((Path(__file__).parent / "fixtures" / "powershell-compat" / "commands.json").read_text())
SERVERS = ("2016", "2019", "2022", "2025")
EXCHANGE_VERSIONS = ("2016", "2019", "SE")
COMMON = {name.casefold() for name in FACTS["common_parameters"]}


@dataclass(frozen=True)
class Call:
    name: str
    parameters: tuple[str, ...]
    line: int


def _unquote(text: str) -> str:
    return text.strip().strip("'\"")


def _splat_keys(function: Node, variable: str) -> set[str]:
    """Keys given to ``$variable`` in ``function``: hashtable literals assigned to it and indexed assignments."""
    keys: set[str] = set()
    for node in walk(function):
        if node.type != "assignment_expression":
            continue
        target = node.children[0].text.decode()
        value = node.children[-1]
        if target.casefold() == f"${variable}".casefold():
            for entry in walk(value):
                if entry.type == "hash_entry":
                    keys.add(_unquote(entry.children[0].text.decode()))
        match = re.fullmatch(rf"\${re.escape(variable)}\[(.+)\]", target, flags=re.IGNORECASE)
        if match:
            keys.add(_unquote(match.group(1)))
    return keys


def _enclosing_function(node: Node) -> Node:
    current: Node | None = node
    while current is not None and current.type not in ("function_statement", "program"):
        current = current.parent
    return current if current is not None else node


def calls(text: str) -> Iterator[Call]:
    """Every command invocation with its named parameters (splatted ones resolved)."""
    for node in walk(parse(text).root_node):
        if node.type != "command":
            continue
        name_node = next((c for c in node.children if c.type == "command_name"), None)
        if name_node is None:
            continue
        parameters: list[str] = []
        for element in walk(node):
            if _owner(element) != node:
                continue
            token = element.text.decode()
            if element.type == "command_parameter":
                parameters.append(token.lstrip("-").split(":", 1)[0])
            elif element.type == "variable" and token.startswith("@"):
                parameters.extend(sorted(_splat_keys(_enclosing_function(node), token[1:])))
        yield Call(name_node.text.decode(), tuple(parameters), node.start_point[0] + 1)


def _owner(node: Node) -> Node | None:
    """The command whose elements ``node`` belongs to (not a nested script block's command)."""
    current = node.parent
    while current is not None and current.type != "command":
        current = current.parent
    return current


def defined_functions(text: str) -> set[str]:
    return {
        child.text.decode().casefold()
        for node in walk(parse(text).root_node)
        if node.type == "function_statement"
        for child in node.children
        if child.type == "function_name"
    }


def known_parameters(command: str) -> tuple[set[str] | None, str]:
    """The parameters ``command`` has everywhere it must run (casefolded), or None when it is unknown."""
    exchange = FACTS["exchange"].get(command)
    if exchange is not None:
        if not set(EXCHANGE_VERSIONS) <= set(exchange["applicable"]):
            return set(), f"only in Exchange {', '.join(exchange['applicable'])}"
        everywhere = {p for p, versions in exchange["parameters"].items() if set(EXCHANGE_VERSIONS) <= set(versions)}
        return {p.casefold() for p in everywhere}, "Exchange"
    module = FACTS["windows_modules"].get(command)
    if module is not None:
        if not set(SERVERS) <= set(module["servers"]):
            return set(), f"only on Windows Server {', '.join(module['servers'])}"
        everywhere = {p for p, servers in module["parameters"].items() if set(SERVERS) <= set(servers)}
        return {p.casefold() for p in everywhere}, module["module"]
    core = FACTS["windows_powershell_5_1"].get(command)
    if core is not None:
        return {p.casefold() for p in core["parameters"]}, core["module"]
    return None, ""


def problems(text: str) -> list[str]:
    own = defined_functions(text)
    found: list[str] = []
    for call in calls(text):
        if call.name.casefold() in own or not re.fullmatch(r"[A-Za-z]+-[A-Za-z]+", call.name):
            continue
        parameters, where = known_parameters(call.name)
        if parameters is None:
            found.append(f"line {call.line}: {call.name} is not a Windows PowerShell 5.1 or Exchange command")
            continue
        for parameter in call.parameters:
            if parameter.casefold() not in parameters | COMMON:
                found.append(f"line {call.line}: {call.name} ({where}) has no parameter -{parameter} everywhere")
    return found


@pytest.mark.parametrize("name", ["agent", "bootstrap"])
def test_every_command_and_parameter_exists_on_every_supported_server(name: str) -> None:
    text = load_agent_script() if name == "agent" else BOOTSTRAP
    assert problems(text) == []


def test_the_check_finds_unknown_commands_parameters_and_splatted_keys() -> None:
    script = (
        "function F { $p = @{ Thumbprint = 'x'; NoSuchKey = 1 }; $p['Server'] = 'y'\n"
        "Enable-ExchangeCertificate @p -Services SMTP -DoNotRequireSsl -Bogus\n"
        "Get-NoSuchThing -Name x\n"
        "New-PSSession -ConnectionUri 'http://x/PowerShell/' -ConfigurationName Microsoft.Exchange }\n"
    )
    assert sorted(problems(script)) == [
        "line 2: Enable-ExchangeCertificate (Exchange) has no parameter -Bogus everywhere",
        "line 2: Enable-ExchangeCertificate (Exchange) has no parameter -NoSuchKey everywhere",
        "line 3: Get-NoSuchThing is not a Windows PowerShell 5.1 or Exchange command",
    ]


def _enable_exchange_certificate_parameters() -> set[str]:
    agent = load_agent_script()
    (call,) = [c for c in calls(agent) if c.name == "Enable-ExchangeCertificate"]
    return set(call.parameters)


def test_enabling_iis_never_turns_on_require_ssl() -> None:
    """Without -DoNotRequireSsl, Enable-ExchangeCertificate -Services IIS sets Require SSL on the Default Web Site."""
    assert "DoNotRequireSsl" in _enable_exchange_certificate_parameters()


def test_force_which_replaces_the_internal_transport_certificate_is_passed_only_on_request() -> None:
    agent = load_agent_script()
    assert "if ($replace) { $enable['Force'] = $true }" in agent
    assert "$replace = $Step.replace_internal_transport -eq $true" in agent
    assert "Force" in _enable_exchange_certificate_parameters()  # the conditional key is still checked


EXCHANGE_AND_IIS = re.compile(r"^(Get|Set|Enable|Import)-(Exchange|Send|Receive|Transport|Frontend|Hybrid|Web)")


def test_every_exchange_and_iis_cmdlet_call_stops_on_error() -> None:
    """Implicit-remoting proxies read the global $ErrorActionPreference, so -ErrorAction Stop is explicit."""
    agent = load_agent_script()
    own = defined_functions(agent)
    lacking = [
        f"line {c.line}: {c.name}"
        for c in calls(agent)
        if EXCHANGE_AND_IIS.match(c.name) and c.name.casefold() not in own and "ErrorAction" not in c.parameters
    ]
    assert lacking == []


def _script_list(text: str, variable: str) -> list[str]:
    """The string literals of the ``$variable = @(...)`` array at the top of a script."""
    match = re.search(rf"^\${variable} = @\((.*?)\)$", text, flags=re.MULTILINE | re.DOTALL)
    assert match, f"${variable} is not assigned an array literal"
    return re.findall(r"'([^']+)'", match.group(1))


def test_the_remote_session_imports_every_exchange_cmdlet_the_agent_calls() -> None:
    """Import-PSSession -CommandName imports only $ExchangeCmdlets: any other call is 'not recognized' there."""
    agent = load_agent_script()
    imported = set(_script_list(agent, "ExchangeCmdlets"))
    called = {c.name for c in calls(agent) if c.name in FACTS["exchange"]}
    assert called <= imported, sorted(called - imported)
    assert imported <= called, f"imported but never called: {sorted(imported - called)}"
    assert set(_script_list(agent, "ExchangeReadCmdlets")) <= imported


def test_the_lab_knows_the_agents_exchange_cmdlets() -> None:
    """The lab's list, which the contract examples use too, is the agent's own."""
    assert sorted(AGENT_CMDLETS) == sorted(_script_list(load_agent_script(), "ExchangeCmdlets"))
