"""Just enough of cmd.exe and PowerShell for ``ansible.builtin.raw`` and the bootstrap.

A WinRM command arrives as a command and its arguments; ansible sends
``PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted
-EncodedCommand <base64 of UTF-16LE>``. The decoded script is recognised as the
certwarden bootstrap (which runs the agent from stdin) or emulated here: empty,
``exit N``, ``echo X`` / ``Write-Output X``, ``hostname``; anything else is an
unknown command, as PowerShell says it.
"""

from __future__ import annotations

import base64
import binascii
import re
import shlex
from dataclasses import dataclass

BOOTSTRAP_MARKER = "# certwarden-bootstrap 1"
_POWERSHELL_NAMES = {"powershell", "powershell.exe", "pwsh", "pwsh.exe"}
# Lines ansible (and the transport) wrap around every script; they do nothing visible.
_NOISE = [
    re.compile(r"^Set-StrictMode\b.*$", re.I),
    re.compile(r"^If \(-not \$\?\) \{.*\}$", re.I),
    re.compile(r"^try \{ \[Console\]::OutputEncoding = .*\} catch \{\}$", re.I),
    re.compile(r"^\$ErrorActionPreference\s*=.*$", re.I),
    re.compile(r"^\$ProgressPreference\s*=.*$", re.I),
    re.compile(r"^#.*$"),
]


@dataclass
class Script:
    """What a WinRM command asks for: a PowerShell script, or a cmd.exe line."""

    kind: str  # "powershell" | "cmd"
    text: str
    reads_stdin: bool = False

    @property
    def is_bootstrap(self) -> bool:
        return self.kind == "powershell" and BOOTSTRAP_MARKER in self.text


def parse_command(command: str, arguments: list[str]) -> Script:
    """Turn the Command element (and its Arguments) into the script it runs."""
    parts = [command, *arguments]
    # pywinrm users sometimes put the whole line in Command.
    if len(parts) == 1 and " " in command.strip():
        try:
            parts = shlex.split(command, posix=False)
        except ValueError:
            parts = command.split()
    if not parts or parts[0].strip('"').lower() not in _POWERSHELL_NAMES:
        return Script("cmd", " ".join(parts).strip())
    args = parts[1:]
    for index, arg in enumerate(args):
        flag = arg.lower()
        if flag in ("-encodedcommand", "-enc", "-e", "-ec", "-command", "-c") and index + 1 >= len(args):
            return Script("powershell", "")  # an empty -EncodedCommand "" arrives as a bare flag
        if flag in ("-encodedcommand", "-enc", "-e", "-ec"):
            try:
                text = base64.b64decode(args[index + 1]).decode("utf-16-le")
            except (binascii.Error, UnicodeDecodeError):
                text = "<undecodable -EncodedCommand>"
            return Script("powershell", text)
        if flag in ("-command", "-c"):
            rest = " ".join(args[index + 1 :])
            if rest.strip() == "-":
                return Script("powershell", "", reads_stdin=True)
            return Script("powershell", rest.strip('"'))
    return Script("powershell", "", reads_stdin=True)


def _statements(script: str) -> list[str]:
    """Lines split on ';' outside quotes; wrapper lines dropped."""
    statements: list[str] = []
    for raw_line in script.splitlines():
        line = raw_line.strip()
        if not line or any(p.match(line) for p in _NOISE):
            continue
        current, quote = "", ""
        for char in line:
            if quote:
                current += char
                if char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
                current += char
            elif char == ";":
                statements.append(current.strip())
                current = ""
            else:
                current += char
        statements.append(current.strip())
    return [s for s in statements if s]


def _unquote(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "'\"":
        return word[1:-1]
    return word


def _words(statement: str) -> list[str]:
    try:
        return [_unquote(w) for w in shlex.split(statement, posix=False)]
    except ValueError:
        return statement.split()


def run_powershell(script: str, computer_name: str) -> tuple[str, str, int]:
    """(stdout, stderr, exit code) for a script of the few statements the lab understands."""
    out: list[str] = []
    err: list[str] = []
    failed = False
    for statement in _statements(script):
        words = _words(statement)
        verb = words[0].lower()
        if verb == "exit":
            code = words[1] if len(words) > 1 else "0"
            if code.lower() == "$lastexitcode":
                return "".join(out), "".join(err), 1 if failed else 0
            try:
                return "".join(out), "".join(err), int(code)
            except ValueError:
                return "".join(out), "".join(err), 1
        if verb in ("echo", "write-output", "write-host"):
            values = [w for w in words[1:] if not w.lower().startswith("-inputobject")]
            out.extend(f"{value}\r\n" for value in values)
            failed = False
        elif verb in ("hostname", "$env:computername"):
            out.append(f"{computer_name}\r\n")
            failed = False
        else:
            err.append(
                f"{words[0]} : The term '{words[0]}' is not recognized as the name of a cmdlet, function, "
                "script file, or operable program. Check the spelling of the name, or if a path was "
                "included, verify that the path is correct and try again.\r\n"
            )
            failed = True
    return "".join(out), "".join(err), 1 if failed else 0


def run_cmd(line: str, computer_name: str) -> tuple[str, str, int]:
    """cmd.exe for the one-liners people try first."""
    words = line.split(None, 1)
    if not words:
        return "", "", 0
    verb = words[0].lower()
    if verb == "echo":
        return (words[1] if len(words) > 1 else "ECHO is on.") + "\r\n", "", 0
    if verb == "hostname":
        return f"{computer_name}\r\n", "", 0
    if verb == "exit":
        try:
            return "", "", int(words[1].replace("/b", "").strip()) if len(words) > 1 else 0
        except ValueError:
            return "", "", 0
    return (
        "",
        (f"'{words[0]}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"),
        1,
    )
