"""WinRM message encryption on the wire: a raw NTLM client (pyspnego) against the lab's NTLM-only host.

pywinrm never sends a damaged body; this client does, to show that the lab
unseals with the connection's session key and refuses what does not unseal.
"""

from __future__ import annotations

import base64
import struct

import pytest
import requests
import spnego

from tests.lab import LabHandle
from tests.lab.winrm_crypto import SPNEGO_PROTOCOL, decrypt, encrypt
from tests.support.transport_lab import log_entries

pytestmark = [pytest.mark.lab]
IDENTIFY = (
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    b'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"><s:Header>'
    b"<a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</a:Action>"
    b"<a:MessageID>uuid:00000000-0000-0000-0000-000000000001</a:MessageID></s:Header><s:Body/></s:Envelope>"
)


class ClientSealer:
    """The client's half of [MS-WSMV] 2.2.9.1.1: signature length, signature, sealed bytes."""

    protocol = SPNEGO_PROTOCOL

    def __init__(self, context: spnego.ContextProxy) -> None:
        self.context = context

    def seal(self, data: bytes) -> bytes:
        wrapped = self.context.wrap_winrm(data)
        return struct.pack("<I", len(wrapped.header)) + wrapped.header + wrapped.data

    def unseal(self, payload: bytes) -> bytes:
        length = struct.unpack("<I", payload[:4])[0]
        return self.context.unwrap_winrm(payload[4 : 4 + length], payload[4 + length :])


def _authenticated(lab: LabHandle) -> tuple[requests.Session, str, spnego.ContextProxy]:
    info = lab.host_info("via-ntlm")
    url = f"http://127.0.0.1:{info['port']}/wsman"
    session = requests.Session()
    context = spnego.client(info["auth"]["user"], info["auth"]["password"], protocol="ntlm")
    first = session.post(
        url, data=b"", headers={"Authorization": "Negotiate " + base64.b64encode(context.step()).decode()}
    )
    assert first.status_code == 401
    challenge = base64.b64decode(first.headers["WWW-Authenticate"].split()[1])
    token = base64.b64encode(context.step(challenge)).decode()
    second = session.post(url, data=b"", headers={"Authorization": f"Negotiate {token}"})
    assert second.status_code == 200 and context.complete
    return session, url, context


def test_a_sealed_request_is_answered_sealed_and_a_damaged_one_is_refused(transport_lab: LabHandle) -> None:
    session, url, context = _authenticated(transport_lab)
    sealer = ClientSealer(context)

    body, content_type = encrypt(IDENTIFY, sealer)
    answer = session.post(url, data=body, headers={"Content-Type": content_type})
    assert answer.headers["Content-Type"].startswith('multipart/encrypted;protocol="application/HTTP-SPNEGO')
    plain = decrypt(answer.content, sealer)  # sealed with the same session key
    assert b"s:Envelope" in plain

    before = len(log_entries(transport_lab, "via-ntlm"))
    body, content_type = encrypt(IDENTIFY, sealer)
    damaged = bytearray(body)
    damaged[-40] ^= 0xFF  # inside the sealed bytes, before the closing boundary
    refused = session.post(url, data=bytes(damaged), headers={"Content-Type": content_type})
    assert refused.status_code == 400
    actions = [e["action"] for e in log_entries(transport_lab, "via-ntlm")[before:]]
    assert actions == ["undecryptable"]


def test_an_unsealed_body_over_http_is_refused_where_allow_unencrypted_is_false(transport_lab: LabHandle) -> None:
    """Windows' default AllowUnencrypted = false: an authenticated but plain body over HTTP gets a 500, nothing runs."""
    assert transport_lab.host_info("via-ntlm")["auth"]["allow_unencrypted"] is False
    session, url, _context = _authenticated(transport_lab)
    before = len(log_entries(transport_lab, "via-ntlm"))
    refused = session.post(url, data=IDENTIFY, headers={"Content-Type": "application/soap+xml;charset=UTF-8"})
    assert refused.status_code == 500 and refused.content == b""
    actions = [e["action"] for e in log_entries(transport_lab, "via-ntlm")[before:]]
    assert actions == ["unencrypted_refused"]
