"""SMS: into the outbox folder when no provider is configured, and to a real HTTP server on
localhost (a stub provider that records what it was sent) when one is."""

from __future__ import annotations

import json
import socket
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from avtale.notify.sms import (
    HttpSms,
    OutboxSms,
    Sms,
    SmsConfigError,
    SmsNotSent,
    normalise_phone,
    sms_sender,
    sms_settings,
)
from avtale.settings import Paths

TOKEN = "tok-5ecret-abc123"
LINK_TEXT = "Acme AS: please sign agreement P-12. Your personal link: https://x.test/sign/t0k"


@dataclass
class Provider:
    """A stub SMS provider: answers with ``replies`` in turn (the last one repeats) and
    records every request as (path, headers, JSON body)."""

    url: str
    replies: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)

    def next_reply(self) -> tuple[int, dict[str, Any]]:
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpx reads proxies from the environment: the stub is reached directly.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def provider() -> Iterator[Provider]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            stub.requests.append((self.path, dict(self.headers.items()), json.loads(body)))
            status, answer = stub.next_reply()
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub = Provider(url=f"http://127.0.0.1:{server.server_address[1]}/v1/sms")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def http_sender(tmp_path: Path, url: str, **env: str) -> HttpSms:
    settings = sms_settings(Paths(home=tmp_path), {"AVTALE_SMS_URL": url, **env})
    sender = sms_sender(settings)
    assert isinstance(sender, HttpSms)
    sender.retry_pause = 0.0
    return sender


SMS = Sms("sign.12.3f9a", "+4791234567", LINK_TEXT)


# --- the outbox ---------------------------------------------------------------------------


def test_outbox_writes_the_message_whole_and_private(tmp_path: Path) -> None:
    settings = sms_settings(Paths(home=tmp_path), {"AVTALE_SMS_SENDER": "Acme"})
    sender = sms_sender(settings)
    assert isinstance(sender, OutboxSms)
    assert sender.describe() == f"outbox {tmp_path / 'sms-outbox'}"

    where = sender.send(SMS)

    target = tmp_path / "sms-outbox" / "sign.12.3f9a.json"
    assert where == str(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    record = json.loads(target.read_text(encoding="utf-8"))
    assert record.pop("created_at").endswith("+00:00")
    assert record == {
        "to": "+4791234567",
        "from": "Acme",
        "text": LINK_TEXT,
        "message_id": "sign.12.3f9a",
    }
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # nothing left aside


def test_outbox_sends_a_message_id_once(tmp_path: Path) -> None:
    sender = OutboxSms(sms_settings(Paths(home=tmp_path), {}))
    sender.send(SMS)
    target = tmp_path / "sms-outbox" / "sign.12.3f9a.json"
    first = target.read_bytes()

    again = sender.send(Sms(SMS.message_id, "+4799999999", "another text"))

    assert again.endswith("(there already)")
    assert target.read_bytes() == first


# --- the HTTP provider --------------------------------------------------------------------


def test_http_provider_gets_the_message_as_json_with_token_and_key(
    tmp_path: Path, provider: Provider
) -> None:
    provider.replies = [(200, {"id": "abc"})]
    sender = http_sender(tmp_path, provider.url, AVTALE_SMS_TOKEN=TOKEN)

    assert sender.send(SMS) == f"{sender.describe()}: abc"

    [(path, headers, body)] = provider.requests
    assert path == "/v1/sms"
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Idempotency-Key"] == "sign.12.3f9a"
    assert headers["Content-Type"] == "application/json"
    assert body == {
        "to": "+4791234567",
        "from": "Avtale",
        "text": LINK_TEXT,
        "reference": "sign.12.3f9a",
    }
    assert not (tmp_path / "sms-outbox").exists()


def test_http_provider_without_token_sends_no_authorization(
    tmp_path: Path, provider: Provider
) -> None:
    provider.replies = [(202, {})]
    sender = http_sender(tmp_path, provider.url)
    assert sender.send(SMS) == sender.describe()
    [(_, headers, _)] = provider.requests
    assert "Authorization" not in headers


def test_refused_message_is_not_sent_and_the_error_keeps_secrets(
    tmp_path: Path, provider: Provider
) -> None:
    provider.replies = [(401, {"error": f"bad token {TOKEN}"})]
    sender = http_sender(tmp_path, provider.url, AVTALE_SMS_TOKEN=TOKEN)

    with pytest.raises(SmsNotSent) as refused:
        sender.send(SMS)

    message = str(refused.value)
    assert "401" in message
    assert TOKEN not in message and LINK_TEXT not in message and "sign/t0k" not in message
    assert len(provider.requests) == 1  # a 4xx is not tried again


def test_unavailable_provider_is_tried_once_more(tmp_path: Path, provider: Provider) -> None:
    provider.replies = [(503, {}), (200, {"id": "abc"})]
    sender = http_sender(tmp_path, provider.url)

    assert sender.send(SMS).endswith(": abc")

    assert len(provider.requests) == 2
    keys = {headers["Idempotency-Key"] for _, headers, _ in provider.requests}
    assert keys == {"sign.12.3f9a"}  # the provider can tell it is the same message


def test_provider_still_failing_after_the_retry(tmp_path: Path, provider: Provider) -> None:
    provider.replies = [(500, {})]
    with pytest.raises(SmsNotSent, match="HTTP 500"):
        http_sender(tmp_path, provider.url).send(SMS)
    assert len(provider.requests) == 2


def test_unreachable_provider(tmp_path: Path) -> None:
    sender = http_sender(tmp_path, f"http://127.0.0.1:{free_port()}/sms", AVTALE_SMS_TOKEN=TOKEN)
    with pytest.raises(SmsNotSent, match="ConnectError") as failed:
        sender.send(SMS)
    assert TOKEN not in str(failed.value)


# --- phone numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "country", "expected"),
    [
        ("+47 912 34 567", "NO", "+4791234567"),
        ("0047 91234567", "NO", "+4791234567"),
        ("91234567", "NO", "+4791234567"),
        ("912.34.567", "no", "+4791234567"),
        ("(+47) 912-34-567", "NO", "+4791234567"),
        ("20 12 34 56", "DK", "+4520123456"),
        ("070-123 45 67", "SE", "+46701234567"),
        ("+46 (0)70-123 45 67", "NO", "+46701234567"),
        ("040 123 4567", "FI", "+358401234567"),
        ("581 2345", "IS", "+3545812345"),
        ("0151 23456789", "DE", "+4915123456789"),
        ("06-12345678", "NL", "+31612345678"),
        ("+4915123456789", "NO", "+4915123456789"),
        ("+1 (202) 555-0143", "NO", "+12025550143"),
    ],
)
def test_normalise_phone(text: str, country: str, expected: str) -> None:
    assert normalise_phone(text, country) == expected


@pytest.mark.parametrize(
    ("text", "country", "says"),
    [
        ("ring meg", "NO", "not a phone number"),
        ("912 34 56a", "NO", "not a phone number"),
        ("", "NO", "not a phone number"),
        ("9123456", "NO", "wrong length"),
        ("912345678", "NO", "wrong length"),
        ("+47 9123 4567 8", "NO", "wrong number of digits for \\+47"),
        ("+1234567890123456", "NO", "7 to 15 digits"),
        ("+0 12345678", "NO", "7 to 15 digits"),
        ("+47 91+234567", "NO", "not a phone number"),
        ("612345678", "FR", "no calling code known for 'FR'"),
    ],
)
def test_normalise_phone_refuses(text: str, country: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        normalise_phone(text, country)


def test_a_message_is_checked() -> None:
    Sms("sign.1.a", "+4791234567", "x" * 612)
    with pytest.raises(ValueError, match="613 characters"):
        Sms("sign.1.a", "+4791234567", "x" * 613)
    with pytest.raises(ValueError, match="E.164"):
        Sms("sign.1.a", "912 34 567", "hello")
    for unsafe in ("../etc/passwd", ".hidden", "a/b", ""):
        with pytest.raises(ValueError, match="message id"):
            Sms(unsafe, "+4791234567", "hello")


# --- settings -----------------------------------------------------------------------------


def test_settings_defaults(tmp_path: Path) -> None:
    settings = sms_settings(Paths(home=tmp_path), {})
    assert settings.outbox == tmp_path / "sms-outbox"
    assert (settings.url, settings.token, settings.sender, settings.timeout) == (
        None,
        None,
        "Avtale",
        10.0,
    )


def test_settings_from_the_environment(tmp_path: Path) -> None:
    settings = sms_settings(
        Paths(home=tmp_path),
        {
            "AVTALE_SMS_URL": " https://sms.example.no/v1/messages ",
            "AVTALE_SMS_TOKEN": TOKEN,
            "AVTALE_SMS_SENDER": "+47 22 00 00 00",
            "AVTALE_SMS_TIMEOUT_S": "2.5",
        },
    )
    assert settings.url == "https://sms.example.no/v1/messages"
    assert settings.sender == "+4722000000"
    assert settings.timeout == 2.5
    assert TOKEN not in repr(settings)
    assert sms_sender(settings).describe() == "SMS provider sms.example.no"


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("AVTALE_SMS_SENDER", "AcmeSigning1", "at most 11"),
        ("AVTALE_SMS_SENDER", "Acme AS", "at most 11"),
        ("AVTALE_SMS_SENDER", "12345", "not only digits"),
        ("AVTALE_SMS_SENDER", "+47 2200", "AVTALE_SMS_SENDER"),
        ("AVTALE_SMS_URL", "http://sms.example.no/v1", "https"),
        ("AVTALE_SMS_URL", "ftp://127.0.0.1/sms", "https://"),
        ("AVTALE_SMS_URL", "sms.example.no", "https://"),
        ("AVTALE_SMS_URL", "https://user:pw@sms.example.no/", "login"),
        ("AVTALE_SMS_TOKEN", "two words", "visible ASCII"),
        ("AVTALE_SMS_TIMEOUT_S", "soon", "positive number"),
        ("AVTALE_SMS_TIMEOUT_S", "0", "positive number"),
    ],
)
def test_settings_refused(tmp_path: Path, name: str, value: str, says: str) -> None:
    with pytest.raises(SmsConfigError, match=says):
        sms_settings(Paths(home=tmp_path), {name: value})


def test_local_http_is_allowed_for_tests(tmp_path: Path) -> None:
    for url in ("http://127.0.0.1:8025/sms", "http://localhost/sms"):
        assert sms_settings(Paths(home=tmp_path), {"AVTALE_SMS_URL": url}).url == url
