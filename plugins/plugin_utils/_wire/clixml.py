"""Turn PowerShell's CLIXML error stream into the plain text a user can read.

When powershell.exe runs with redirected output and a script fails, it writes
its error records to stderr as ``#< CLIXML`` followed by serialised objects:
``<S S="Error">text_x000D__x000A_</S>`` per line of error text, plus progress
records nobody needs. Only the ``Error`` strings carry the message.
"""

from __future__ import annotations

import html
import re

CLIXML_HEADER = "#< CLIXML"

# One error line: <S S="Error">...</S>. The text never contains '<' (XML escapes it).
_ERROR_STRING = re.compile(r'<S S="Error">([^<]*)</S>')
# PowerShell escapes characters that XML cannot carry as _xHHHH_ (UTF-16 code unit).
_ENCODED_CHAR = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _decode_text(text: str) -> str:
    unescaped = html.unescape(text)
    return _ENCODED_CHAR.sub(lambda match: chr(int(match.group(1), 16)), unescaped)


def is_clixml(stderr: str) -> bool:
    """True when ``stderr`` is PowerShell's serialised error stream."""
    return stderr.lstrip().startswith(CLIXML_HEADER)


def decode_clixml_errors(stderr: str) -> str:
    """The text of every error record in ``stderr``, joined; non-CLIXML input is returned unchanged.

    Surrogate pairs encoded as two ``_xHHHH_`` escapes are recombined.
    """
    if not is_clixml(stderr):
        return stderr
    parts = [_decode_text(match.group(1)) for match in _ERROR_STRING.finditer(stderr)]
    text = "".join(parts)
    # Recombine surrogate pairs that arrived as two separate escapes.
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text.replace("\r\n", "\n").strip()
