"""Sealing a signed agreement (SPEC S2): an audit-trail page is appended to the PDF the
signers saw, and the whole file is sealed with a PAdES signature in the seller's name.

The seal is a certification signature that allows no changes: any byte altered inside the
signed range breaks it, and anything appended afterwards (other than validation data for
long-term archiving) makes it invalid. ``check_seal`` says which, offline.

A pure core like the rest of ``docgen``: keys and certificates are PEM files named by a
``SealIdentity``; ``make_demo_identity`` makes a self-made one for demos and tests.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.policy_decl import NO_REVOCATION, CertRevTrustPolicy
from pypdf import PdfReader, PdfWriter

from docgen.pdf import html_to_pdf

DEMO_VALIDITY = dt.timedelta(days=5 * 365)
UA_LIMIT = 120


@dataclass(frozen=True)
class SealIdentity:
    """The seal's key, its certificate and the chain up to (and including) the root."""

    key_path: Path
    cert_path: Path
    chain_paths: tuple[Path, ...] = ()
    key_passphrase: bytes | None = None


@dataclass(frozen=True)
class AuditEvent:
    what: str  # "link sent", "opened", "identified", "signed", "declined"
    at: dt.datetime  # aware; printed in UTC
    ip: str | None = None
    user_agent: str | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError(f"the time of {self.what!r} has no time zone")


@dataclass(frozen=True)
class AuditParty:
    name: str
    side: str  # "customer" or "seller"
    email: str
    method: str  # how they were identified: "E-mail one-time code", "MitID via Criipto"
    attributes: Mapping[str, str] = field(default_factory=dict)
    events: tuple[AuditEvent, ...] = ()


@dataclass(frozen=True)
class AuditTrail:
    """The evidence printed on the audit page."""

    title: str  # "Agreement P-000012"
    seller: str  # the seller company, in whose name the document is sealed
    original_filename: str
    original_sha256: str  # hex SHA-256 of the PDF the signers saw
    parties: tuple[AuditParty, ...]
    sealed_at: dt.datetime

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9a-f]{64}", self.original_sha256):
            raise ValueError("original_sha256 is not a lower-case hex SHA-256")
        if self.sealed_at.tzinfo is None:
            raise ValueError("sealed_at has no time zone")


@dataclass(frozen=True)
class SealStatus:
    intact: bool  # the signed bytes are unchanged and the signature matches them
    valid: bool  # intact, trusted chain, trusted time stamp if any, no illegal changes
    signer: str
    timestamped: bool  # carries a trusted RFC 3161 time-stamp token (PAdES-B-T)
    covers_whole_file: bool  # nothing was appended after the seal
    summary: str


def make_demo_identity(folder: Path, company: str) -> SealIdentity:
    """A demo CA and a seal certificate for ``company`` issued by it, made once in
    ``folder`` (reused when all three files are there). The CA's key is not kept."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_path, cert_path, ca_path = (
        folder / "seal-key.pem",
        folder / "seal-cert.pem",
        folder / "seal-ca.pem",
    )
    identity = SealIdentity(key_path, cert_path, (ca_path,))
    if key_path.is_file() and cert_path.is_file() and ca_path.is_file():
        return identity
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # room for clock skew
    ca_key, seal_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca_name = _name(f"{company} demo seal CA (self-made)", company)
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    seal_cert = (
        _builder(_name(f"{company} electronic seal", company), ca_name, seal_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(seal_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = seal_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(key_path, key_pem, 0o600)
    _write(ca_path, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(cert_path, seal_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return identity


def _name(common_name: str, company: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, company[:64]),
        ]
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, now: dt.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + DEMO_VALIDITY)
    )


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=not cert_sign,  # nonRepudiation
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    """Writes through a temporary file, so a reader never sees half a key."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.replace(temporary, path)


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _short(text: str | None) -> str:
    if not text:
        return "–"
    return text if len(text) <= UA_LIMIT else text[: UA_LIMIT - 1] + "…"


AUDIT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Audit trail: {{ trail.title }}</title>
<style>
@page { size: A4; margin: 18mm 16mm;
  @bottom-right { content: "Audit trail, page " counter(page) " of " counter(pages);
    font-family: "Liberation Sans", "DejaVu Sans", sans-serif; font-size: 7.5pt; color: #555; } }
html { font-family: "Liberation Sans", "DejaVu Sans", sans-serif; font-size: 9pt;
  line-height: 1.3; color: #1a1a1a; }
h1 { font-size: 17pt; color: #0b6e4f; margin: 0 0 1mm; }
h2 { font-size: 10.5pt; margin: 6mm 0 1.5mm; break-after: avoid; }
table { width: 100%; border-collapse: collapse; margin-bottom: 2mm; }
th, td { text-align: left; vertical-align: top; padding: 0.8mm 1.5mm;
  border-bottom: 0.5pt solid #cfd8d4; }
th { width: 34mm; font-weight: bold; }
.events th { width: auto; }
.mono { font-family: "DejaVu Sans Mono", monospace; font-size: 8pt; }
.ua { font-size: 7.5pt; overflow-wrap: anywhere; }
.time { white-space: nowrap; }
.closing { margin-top: 8mm; }
</style></head><body>
<h1>Audit trail</h1>
<p>{{ trail.title }} · {{ trail.seller }}</p>
<table>
  <tr><th>Original document</th><td>{{ trail.original_filename }}</td></tr>
  <tr><th>SHA-256</th><td class="mono">{{ trail.original_sha256 }}</td></tr>
</table>
{% for party in trail.parties %}
<h2>{{ party.name }} ({{ party.side }})</h2>
<table>
  <tr><th>E-mail</th><td>{{ party.email }}</td></tr>
  <tr><th>Identification</th><td>{{ party.method }}</td></tr>
  {% for key, value in party.attributes.items() %}
  <tr><th>{{ key }}</th><td>{{ value }}</td></tr>
  {% endfor %}
</table>
<table class="events">
  <tr><th>Event</th><th>Time</th><th>IP address</th><th>User agent</th></tr>
  {% for event in party.events %}
  <tr><td>{{ event.what }}</td><td class="time">{{ event.at | utc }}</td><td>{{ event.ip or "–" }}</td>
    <td class="ua">{{ event.user_agent | short }}</td></tr>
  {% endfor %}
</table>
{% endfor %}
<p class="closing">This page was appended to the signed document on {{ trail.sealed_at | utc }};
the document, including this page, is sealed by {{ trail.seller }} with an electronic seal
(PAdES). Any change to the file breaks the seal.</p>
</body></html>
"""

_ENVIRONMENT = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
_ENVIRONMENT.filters.update(utc=_utc, short=_short)
_AUDIT_TEMPLATE = _ENVIRONMENT.from_string(AUDIT_PAGE)


def audit_page_pdf(trail: AuditTrail) -> bytes:
    """The audit trail as A4 pages (one, unless the trail is long)."""
    return html_to_pdf(_AUDIT_TEMPLATE.render(trail=trail))


def append_pages(original: bytes, extra: bytes) -> bytes:
    """``original``'s pages unchanged (and its metadata), followed by ``extra``'s pages."""
    writer = PdfWriter(clone_from=PdfReader(BytesIO(original)))
    writer.append(PdfReader(BytesIO(extra)), import_outline=False)
    output = BytesIO()
    writer.write(output)
    return output.getvalue()


def seal_pdf(
    pdf: bytes,
    identity: SealIdentity,
    *,
    field_name: str = "AvtaleSeal",
    reason: str,
    location: str | None = None,
    timestamp_url: str | None = None,
) -> bytes:
    """``pdf`` with an invisible PAdES seal: B-B, or B-T with a time-stamp token from the
    RFC 3161 server at ``timestamp_url``. The seal certifies the document, no changes
    allowed."""
    signer = signers.SimpleSigner.load(
        str(identity.key_path),
        str(identity.cert_path),
        ca_chain_files=[str(path) for path in identity.chain_paths],
        key_passphrase=identity.key_passphrase,
    )
    if signer is None:  # pyHanko logs the cause and returns None
        raise ValueError(f"cannot load the seal key or certificate {identity.cert_path}")
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    timestamper = HTTPTimeStamper(timestamp_url) if timestamp_url else None
    output = signers.sign_pdf(
        IncrementalPdfFileWriter(BytesIO(pdf)),
        metadata,
        signer=signer,
        timestamper=timestamper,
        new_field_spec=fields.SigFieldSpec(sig_field_name=field_name),  # no box: invisible
    )
    return bytes(output.getvalue())


def check_seal(
    pdf: bytes, trust_roots: Sequence[Path], *, field_name: str = "AvtaleSeal"
) -> SealStatus:
    """The seal's state, checked offline against ``trust_roots`` (PEM files) without
    revocation checks. A missing seal or an unreadable file is reported, not raised."""
    try:
        signatures = PdfFileReader(BytesIO(pdf)).embedded_regular_signatures
    except (PdfError, ValueError) as error:
        return _broken(f"The file cannot be read as a PDF: {error}")
    seal = next((sig for sig in signatures if sig.field_name == field_name), None)
    if seal is None:
        if not signatures:
            return _broken("The PDF has no signature: it is not sealed.")
        names = ", ".join(str(sig.field_name) for sig in signatures)
        return _broken(f"The PDF has no signature named {field_name}, only {names}.")
    context = ValidationContext(
        trust_roots=list(load_certs_from_pemder([str(path) for path in trust_roots])),
        allow_fetching=False,
        revinfo_policy=CertRevTrustPolicy(NO_REVOCATION),
    )
    try:
        status = validate_pdf_signature(seal, context)
    except (PdfError, ValueError) as error:  # SignatureValidationError is a ValueError
        return _broken(f"The seal cannot be checked: {error}")
    signer = status.signing_cert.subject.native.get("common_name") or (
        status.signing_cert.subject.human_friendly
    )
    intact = status.intact and status.valid
    stamp = status.timestamp_validity
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    if not intact:
        summary = "The seal is broken: the document was changed after it was sealed."
    elif not status.trusted:
        summary = f"The seal is intact, but its certificate is not trusted ({signer})."
    elif stamp is not None and not stamp.trusted:
        summary = "The seal is intact, but its time stamp is not trusted."
    elif not status.bottom_line:
        summary = "The seal is intact, but the file was changed after it was sealed."
    else:
        summary = f"Sealed by {signer}; the seal is intact and trusted."
        if stamp is not None:
            summary += f" Time-stamped {_utc(stamp.timestamp)}."
    return SealStatus(
        intact=intact,
        valid=status.bottom_line,
        signer=str(signer),
        timestamped=stamp is not None and stamp.trusted,
        covers_whole_file=whole,
        summary=f"{summary} [{status.summary()}]",
    )


def _broken(summary: str) -> SealStatus:
    return SealStatus(False, False, "", False, False, summary)
