"""The seal of a signed agreement (SPEC S2): audit page, PAdES seal, and what breaks it.
Real components throughout: WeasyPrint, pypdf, pyHanko, its command line, and a local
RFC 3161 time-stamp server."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign.timestamps import DummyTimeStamper
from pypdf import PdfReader, PdfWriter
from pypdf.annotations import FreeText

from docgen.pdf import html_to_pdf
from docgen.seal import (
    AuditEvent,
    AuditParty,
    AuditTrail,
    SealIdentity,
    append_pages,
    audit_page_pdf,
    check_seal,
    make_demo_identity,
    seal_pdf,
)

PYHANKO = Path(sys.executable).parent / "pyhanko"
AT = dt.datetime(2026, 12, 4, 18, 5, 12, tzinfo=dt.UTC)
EVIL = "<script>alert(1)</script>"
ORIGINAL_HTML = (
    "<html><head><title>Agreement P-000012</title></head><body>"
    "<p>The customer subscribes to the service.</p><p>Either side may end it.</p></body></html>"
)


@pytest.fixture
def identity(tmp_path: Path) -> SealIdentity:
    return make_demo_identity(tmp_path / "seal", "Avtale Demo AS")


def trail_for(original: bytes) -> AuditTrail:
    def party(name: str, side: str, method: str, attributes: dict[str, str]) -> AuditParty:
        events = (
            AuditEvent("link sent", AT),
            AuditEvent("opened", AT + dt.timedelta(minutes=3), "203.0.113.7", "Mozilla/5.0 " * 20),
            AuditEvent("signed", AT + dt.timedelta(minutes=5), "203.0.113.7", "curl/8.5"),
        )
        return AuditParty(name, side, f"{side}@example.com", method, attributes, events)

    return AuditTrail(
        title="Agreement P-000012",
        seller="Avtale Demo AS",
        original_filename="P-000012.pdf",
        original_sha256=hashlib.sha256(original).hexdigest(),
        parties=(
            party(
                EVIL,
                "customer",
                "MitID via Criipto",
                {"provider": "MitID", "birth date": "1980-01-02"},
            ),
            party("Kari Nordmann", "seller", "E-mail one-time code", {}),
        ),
        sealed_at=AT + dt.timedelta(minutes=6),
    )


def sealed(identity: SealIdentity, timestamp_url: str | None = None) -> tuple[bytes, bytes, bytes]:
    """The original, its audit page and the sealed whole."""
    original = html_to_pdf(ORIGINAL_HTML)
    page = audit_page_pdf(trail_for(original))
    whole = append_pages(original, page)
    return original, page, seal_pdf(whole, identity, reason="Signed", timestamp_url=timestamp_url)


def cli_validate(path: Path, *trust: Path) -> subprocess.CompletedProcess[str]:
    trust_args = [arg for root in trust for arg in ("--trust", str(root))]
    command = [str(PYHANKO), "sign", "validate", *trust_args, "--trust-replace"]
    command += ["--no-revocation-check", "--pretty-print", str(path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_the_demo_identity_is_made_once(tmp_path: Path) -> None:
    first = make_demo_identity(tmp_path / "seal", "Avtale Demo AS")
    cert = first.cert_path.read_bytes()
    assert stat.S_IMODE(first.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "seal").stat().st_mode) == 0o700
    assert first.chain_paths == (tmp_path / "seal" / "seal-ca.pem",)
    again = make_demo_identity(tmp_path / "seal", "Avtale Demo AS")
    assert again == first and again.cert_path.read_bytes() == cert
    seal_cert = x509.load_pem_x509_certificate(cert)
    usage = seal_cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment


def test_a_sealed_agreement_carries_its_audit_page(identity: SealIdentity) -> None:
    original, page, result = sealed(identity)
    status = check_seal(result, identity.chain_paths)
    assert (status.intact, status.valid, status.covers_whole_file) == (True, True, True)
    assert not status.timestamped and status.signer == "Avtale Demo AS electronic seal"
    reader = PdfReader(BytesIO(result))
    originals = len(PdfReader(BytesIO(original)).pages)
    assert len(reader.pages) == originals + len(PdfReader(BytesIO(page)).pages)
    assert reader.metadata is not None and reader.metadata.title == "Agreement P-000012"
    audit = " ".join(p.extract_text() for p in reader.pages[originals:])
    assert hashlib.sha256(original).hexdigest() in audit
    assert EVIL in audit and "Kari Nordmann" in audit and "MitID via Criipto" in audit
    assert "2026-12-04 18:05:12 UTC" in audit and "…" in audit  # long user agent cut
    assert "sealed by Avtale Demo AS with an electronic seal (PAdES)" in " ".join(audit.split())


def test_pyhankos_command_line_finds_the_seal_valid(identity: SealIdentity, tmp_path: Path) -> None:
    (tmp_path / "sealed.pdf").write_bytes(sealed(identity)[2])
    result = cli_validate(tmp_path / "sealed.pdf", *identity.chain_paths)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The signature is judged VALID" in result.stdout
    assert "The signature covers the entire file" in result.stdout


def test_one_changed_byte_breaks_the_seal(identity: SealIdentity, tmp_path: Path) -> None:
    result = bytearray(sealed(identity)[2])
    byte_range = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", result)
    assert byte_range is not None
    contents_start = int(byte_range[2])  # the first signed range ends where /Contents starts
    stream = result.index(b"stream\n") + len(b"stream\n")  # the first page's content
    assert stream + 10 < contents_start
    result[stream + 10] ^= 0x01
    status = check_seal(bytes(result), identity.chain_paths)
    assert not status.intact and not status.valid and "broken" in status.summary
    (tmp_path / "changed.pdf").write_bytes(result)
    assert cli_validate(tmp_path / "changed.pdf", *identity.chain_paths).returncode != 0


def test_an_update_after_the_seal_is_not_a_final_document(
    identity: SealIdentity, tmp_path: Path
) -> None:
    result = sealed(identity)[2]
    writer = PdfWriter(BytesIO(result), incremental=True)
    writer.add_annotation(0, FreeText(text="Price: 0 NOK", rect=(50, 550, 250, 600)))
    changed = BytesIO()
    writer.write(changed)
    assert changed.getvalue().startswith(result)  # the signed bytes are all still there
    status = check_seal(changed.getvalue(), identity.chain_paths)
    assert status.intact and not status.covers_whole_file and not status.valid
    (tmp_path / "changed.pdf").write_bytes(changed.getvalue())
    assert cli_validate(tmp_path / "changed.pdf", *identity.chain_paths).returncode != 0


def test_an_unsigned_pdf_is_not_sealed(identity: SealIdentity) -> None:
    status = check_seal(html_to_pdf(ORIGINAL_HTML), identity.chain_paths)
    assert not status.intact and not status.valid and "no signature" in status.summary


def _certificate(
    subject: str, key: rsa.RSAPrivateKey, issuer: tuple[str, rsa.RSAPrivateKey] | None
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, issuer_key = issuer or (subject, key)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), True)
    )
    if issuer is not None:  # the time-stamping authority
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local RFC 3161 server answering with pyHanko's dummy stamper: its URL and CA."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_cert = _certificate("Test TSA CA", ca_key, None)
    tsa_cert = _certificate("Test TSA", tsa_key, ("Test TSA CA", ca_key))
    der = serialization.Encoding.DER
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(tsa_cert.public_bytes(der)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            tsa_key.private_bytes(
                der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
    )

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
            reply = stamper.request_tsa_response(request).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ca_path = tmp_path / "tsa-ca.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    try:
        yield f"http://127.0.0.1:{server.server_port}/", ca_path
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_time_stamped_seal_is_pades_b_t(
    identity: SealIdentity, tsa: tuple[str, Path], tmp_path: Path
) -> None:
    url, tsa_ca = tsa
    result = sealed(identity, timestamp_url=url)[2]
    status = check_seal(result, [*identity.chain_paths, tsa_ca])
    assert status.intact and status.valid and status.timestamped, status.summary
    assert "Time-stamped" in status.summary
    untrusted = check_seal(result, identity.chain_paths)  # the TSA's CA is not trusted
    assert untrusted.intact and not untrusted.timestamped and not untrusted.valid
    assert "time stamp is not trusted" in untrusted.summary
    (tmp_path / "stamped.pdf").write_bytes(result)
    cli = cli_validate(tmp_path / "stamped.pdf", *identity.chain_paths, tsa_ca)
    assert cli.returncode == 0 and "timestamp" in cli.stdout.lower(), cli.stdout + cli.stderr
