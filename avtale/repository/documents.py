"""Uploaded and generated files: checked, stored once by content hash, registered and audited.

A file lives at ``<home>/documents/<sha[:2]>/<sha><suffix>``; the suffix comes from what
the file is (``.pdf``, ``.docx``), not from its name, so the same bytes always land on one
path however they were named.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from avtale.repository.audit import record, snapshot
from avtale.repository.contracts import create_contract, validate_contract
from avtale.repository.models import DOCUMENT_KINDS, Contract, ContractVersion, Customer, Document
from avtale.repository.validation import ValidationError, raise_if, require_actor
from avtale.settings import Paths, private_dir
from avtale.settings import max_upload_bytes as max_upload_bytes

PDF = ("application/pdf", ".pdf")
DOCX = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx")


def documents_dir(paths: Paths) -> Path:
    return paths.home / "documents"


def detect(data: bytes) -> tuple[str, str]:
    """The content type and suffix of a PDF or DOCX, judged by content alone."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "word/document.xml" in archive.namelist():
                    return DOCX
        except zipfile.BadZipFile:
            pass
    raise ValidationError({"file": "must be a PDF or a Word (.docx) document"})


def check_upload(data: bytes, max_bytes: int | None = None) -> tuple[str, str]:
    """Refuse, with the reason, what cannot be stored; else the content type and suffix."""
    limit = max_upload_bytes() if max_bytes is None else max_bytes
    if not data:
        raise ValidationError({"file": "is empty"})
    if len(data) > limit:
        raise ValidationError(
            {"file": f"is {_human_size(len(data))}; the limit is {_human_size(limit)}"}
        )
    return detect(data)


def _human_size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def write_blob(root: Path, data: bytes, sha256: str, suffix: str) -> str:
    """Put the bytes in the store unless they are there already; the path relative to root."""
    relative = f"{sha256[:2]}/{sha256}{suffix}"
    target = root / relative
    if target.exists():
        return relative
    for folder in (root, target.parent):
        private_dir(folder)
    # Write aside and rename, so a reader never finds half a file under the final name;
    # mkstemp makes the file its owner's alone (0600), as the data folder's files are.
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return relative


def store_document(
    session: Session,
    actor: str,
    paths: Paths,
    *,
    filename: str,
    data: bytes,
    kind: str = "attachment",
    contract: Contract | None = None,
    customer: Customer | None = None,
    max_bytes: int | None = None,
) -> Document:
    """Store a PDF or DOCX on a contract and/or customer and register it (with an audit row).

    The same bytes uploaded again to the same contract and customer return the document
    already registered. The file is written before the row: if the transaction then fails,
    an unreferenced file stays behind, which is harmless in a content-addressed store.
    """
    actor = require_actor(actor)
    errors: dict[str, str] = {}
    name = Path(filename or "").name.strip()
    if not name:
        errors["filename"] = "is required"
    elif len(name) > 255:
        errors["filename"] = "must be at most 255 characters"
    if kind not in DOCUMENT_KINDS:
        errors["kind"] = "must be one of: " + ", ".join(DOCUMENT_KINDS)
    if contract is None and customer is None:
        errors["contract"] = "a document belongs to a contract or a customer"
    if contract is not None and customer is not None and contract.customer_id != customer.id:
        errors["customer"] = "is not the customer of the contract"
    try:
        content_type, suffix = check_upload(data, max_bytes)
    except ValidationError as refused:
        errors |= refused.errors
    raise_if(errors)

    if customer is None and contract is not None:
        customer = contract.customer
    sha256 = hashlib.sha256(data).hexdigest()
    existing = session.scalar(
        select(Document)
        .where(
            Document.sha256 == sha256,
            Document.kind == kind,
            _is(Document.contract_id, contract.id if contract else None),
            _is(Document.customer_id, customer.id if customer else None),
        )
        .limit(1)
    )
    if existing is not None:
        return existing
    stored_path = write_blob(documents_dir(paths), data, sha256, suffix)
    document = Document(
        contract=contract,
        customer=customer,
        kind=kind,
        filename=name,
        content_type=content_type,
        size_bytes=len(data),
        sha256=sha256,
        stored_path=stored_path,
        uploaded_by=actor,
    )
    session.add(document)
    session.flush()
    record(session, actor, "document.store", "document", document.id, None, snapshot(document))
    return document


def _is(column: Any, value: int | None) -> Any:
    return column.is_(None) if value is None else column == value


def document_path(paths: Paths, document: Document) -> Path:
    return documents_dir(paths) / document.stored_path


def registered_papers(session: Session, data: bytes) -> list[Contract]:
    """The contracts these exact bytes (by SHA-256) are already the counterparty paper of:
    registering them again is most likely the same contract twice."""
    sha256 = hashlib.sha256(data).hexdigest()
    return list(
        session.scalars(
            select(Contract)
            .join(Document, Document.contract_id == Contract.id)
            .where(Document.sha256 == sha256, Document.kind == "counterparty_paper")
            .order_by(Contract.contract_number)
            .distinct()
        )
    )


def register_counterparty_paper(
    session: Session,
    actor: str,
    paths: Paths,
    customer: Customer,
    terms: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    *,
    filename: str,
    data: bytes,
    max_bytes: int | None = None,
) -> tuple[ContractVersion, Document]:
    """A contract on the customer's own paper (R5): the file and the same terms as any
    contract, so it joins search, comparison and analytics. Both or neither are saved."""
    errors: dict[str, str] = {}
    # Both checked before either is written, so the form shows every problem at once.
    try:
        validate_contract(session, customer, terms, lines, origin="counterparty_paper")
    except ValidationError as invalid:
        errors |= invalid.errors
    try:
        check_upload(data, max_bytes)
    except ValidationError as refused:
        errors |= refused.errors
    raise_if(errors)
    version = create_contract(session, actor, customer, terms, lines, origin="counterparty_paper")
    document = store_document(
        session,
        actor,
        paths,
        filename=filename,
        data=data,
        kind="counterparty_paper",
        contract=version.contract,
        max_bytes=max_bytes,
    )
    return version, document
