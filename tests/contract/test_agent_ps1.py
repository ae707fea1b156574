"""agent.ps1 cannot run here: parse it with tree-sitter-powershell and hold it to the contract."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import tree_sitter_powershell
from tree_sitter import Language, Node, Parser, Tree

from ansible_collections.certwarden.exchange.plugins.plugin_utils._wire.transport import BOOTSTRAP, load_agent_script

DOC = Path(__file__).resolve().parents[2] / "docs" / "agent-protocol.md"
PARSER = Parser(Language(tree_sitter_powershell.language()))


def parse(text: str) -> Tree:
    return PARSER.parse(text.encode("utf-8"))


def walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from walk(child)


def code_text(tree: Tree) -> str:
    """The script's leaves without comments and string contents: what PowerShell parses as syntax."""
    skipped = {"comment", "string_literal", "expandable_string_literal", "verbatim_string_characters"}
    parts: list[str] = []

    def visit(node: Node) -> None:
        if node.type in skipped:
            parts.append('""')
            return
        if not node.children:
            parts.append(node.text.decode())
        for child in node.children:
            visit(child)

    visit(tree.root_node)
    return " ".join(parts)


def doc_step_actions() -> set[str]:
    apply_section = DOC.read_text().split("## `apply`", 1)[1].split("\n## ", 1)[0]
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", apply_section, flags=re.MULTILINE))
    return rows - {"action"}  # the table's header


def switch_labels(tree: Tree, subject: str) -> set[str]:
    """String labels of every `switch (<subject>)` statement in the script."""
    labels: set[str] = set()
    for node in walk(tree.root_node):
        if node.type != "switch_statement":
            continue
        condition = next(c for c in node.children if c.type == "switch_condition")
        if subject not in condition.text.decode():
            continue
        for clause in walk(node):
            if clause.type == "switch_clause_condition":
                labels.add(clause.text.decode().strip("'\""))
    labels.discard("default")
    return labels


@pytest.fixture(scope="module")
def agent() -> str:
    return load_agent_script()


@pytest.fixture(scope="module")
def tree(agent: str) -> Tree:
    return parse(agent)


@pytest.mark.parametrize("name", ["agent", "bootstrap"])
def test_parses_without_errors(name: str, agent: str) -> None:
    text = agent if name == "agent" else BOOTSTRAP
    broken = [n for n in walk(parse(text).root_node) if n.type == "ERROR" or n.is_missing]
    assert not broken, [(n.start_point, n.text[:60]) for n in broken]


def test_parser_does_report_broken_powershell() -> None:
    """Guards the test above: the grammar must flag a missing brace."""
    assert parse("function Broken {\n  if ($x) { 'a'\n").root_node.has_error


def test_first_line_is_the_marker(agent: str) -> None:
    assert agent.splitlines()[0] == "# certwarden-agent 1"


def test_agent_is_ascii(agent: str) -> None:
    """Travels on stdin, decoded with the console code page."""
    agent.encode("ascii")


POWERSHELL_7_ONLY = {
    "null-coalescing ??": r"\?\?",
    "null-conditional ?.": r"\?\.|\?\[",
    "ternary": r"\s\?\s",
    "pipeline chain && / ||": r"&&|\|\|",
    "ForEach-Object -Parallel": r"-Parallel\b",
    "clean block": r"\bclean\s*\{",
    "$PSStyle": r"\$PSStyle\b",
    "ConvertTo-Json -EscapeHandling / -AsHashtable": r"-EscapeHandling|-AsHashtable",
}


@pytest.mark.parametrize("name", ["agent", "bootstrap"])
def test_no_powershell_7_only_syntax(name: str, agent: str) -> None:
    code = code_text(parse(agent if name == "agent" else BOOTSTRAP))
    found = {label for label, pattern in POWERSHELL_7_ONLY.items() if re.search(pattern, code)}
    assert not found


def test_code_text_sees_powershell_7_syntax_when_present() -> None:
    code = code_text(parse("$a = $b ?? 'x'\n"))
    assert re.search(POWERSHELL_7_ONLY["null-coalescing ??"], code) or parse("$a = $b ?? 'x'\n").root_node.has_error


def test_agent_never_builds_code_from_strings(tree: Tree) -> None:
    code = code_text(tree).lower()
    for forbidden in ("invoke-expression", "iex", "scriptblock ] :: create", "newscriptblock", "add-type"):
        assert not re.search(rf"(^|\s){re.escape(forbidden)}(\s|$)", code), forbidden
    assert "[scriptblock]::create" not in code.replace(" ", "")


def test_every_doc_step_action_has_a_handler(tree: Tree) -> None:
    actions = doc_step_actions()
    assert len(actions) >= 11
    assert switch_labels(tree, "$Step.action") == actions


def test_every_operation_has_a_handler(tree: Tree) -> None:
    assert switch_labels(tree, "$request.operation") == {"read", "apply", "read_logs"}


def test_the_known_action_list_matches_the_doc(agent: str) -> None:
    declared = re.search(r"\$StepActions = @\((.*?)\)", agent, flags=re.DOTALL)
    assert declared
    assert set(re.findall(r"'([a-z_]+)'", declared.group(1))) == doc_step_actions()


def test_the_response_is_written_between_the_markers_and_the_agent_exits_zero(agent: str) -> None:
    tail = [line.strip() for line in agent.strip().splitlines()[-4:]]
    assert tail == [
        "Write-Output '<<<CERTWARDEN-BEGIN>>>'",
        "Write-Output (ConvertTo-AsciiJson $response)",
        "Write-Output '<<<CERTWARDEN-END>>>'",
        "exit 0",
    ]


def test_json_is_written_deep_enough_and_compressed(agent: str) -> None:
    (call,) = re.findall(r"ConvertTo-Json [^\n]*", agent)
    depth = int(re.search(r"-Depth (\d+)", call).group(1))
    assert depth >= 6 and "-Compress" in call and "-InputObject" in call
