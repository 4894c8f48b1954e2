"""Stored documents: attach a file to a contract, list a record's documents, read a stored
file back (to download or preview it). Files are kept by their SHA-256 hash."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from avtale.repository.documents import documents_dir, store_document
from avtale.repository.documents import max_upload_bytes as max_upload_bytes
from avtale.repository.models import Contract, Document
from avtale.services import lookups
from avtale.services.database import Database
from avtale.services.unit_of_work import EDIT, Outcome, reading, write
from avtale.settings import Paths

DOCUMENT_COLUMNS = [
    "id",
    "filename",
    "kind",
    "contract",
    "size_bytes",
    "sha256",
    "content_type",
    "stored_path",
    "uploaded_by",
    "uploaded_at",
]


def documents_table(session: Session, where: Any) -> pd.DataFrame:
    """The documents matching ``where``, oldest first, one row each."""
    rows = session.scalars(
        select(Document)
        .where(where)
        .options(selectinload(Document.contract))
        .order_by(Document.uploaded_at, Document.id)
    )
    return pd.DataFrame(
        [
            {
                "id": d.id,
                "filename": d.filename,
                "kind": d.kind,
                "contract": d.contract.contract_number if d.contract else None,
                "size_bytes": d.size_bytes,
                "sha256": d.sha256,
                "content_type": d.content_type,
                "stored_path": d.stored_path,
                "uploaded_by": d.uploaded_by,
                "uploaded_at": d.uploaded_at,
            }
            for d in rows
        ],
        columns=DOCUMENT_COLUMNS,
    )


def document_notes(db: Database, contract_number: str) -> dict[int, str]:
    """For a contract's generated documents, by id: "version 2 · template agreement v1"."""
    with reading(db) as session:
        rows = session.scalars(
            select(Document)
            .join(Contract, Document.contract_id == Contract.id)
            .where(Contract.contract_number == contract_number, Document.kind == "generated")
        )
        notes = {}
        for d in rows:
            source = d.source or {}
            template = source.get("template") or {}
            made = f"template {template.get('key')} v{template.get('version')}"
            if d.doc_version:
                made = f"version {d.doc_version} · {made}"
            elif source.get("period"):
                made = f"invoice {source['period']} · {made}"
            notes[d.id] = made
        return notes


def document_bytes(paths: Paths, stored_path: str) -> bytes:
    """A stored file's content."""
    return (documents_dir(paths) / Path(stored_path)).read_bytes()


def first_page_png(paths: Paths, stored_path: str) -> bytes | None:
    """The first page of a stored PDF as a small PNG (poppler's pdftoppm), or None when
    pdftoppm is not installed or fails."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        return None
    source = documents_dir(paths) / Path(stored_path)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "page"
        done = subprocess.run(
            [tool, "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", source, target],
            capture_output=True,
            timeout=30,
            check=False,
        )
        image = target.with_suffix(".png")
        return image.read_bytes() if done.returncode == 0 and image.exists() else None


def attach(
    db: Database, actor: str, paths: Paths, number: str, upload: tuple[str, bytes] | None
) -> Outcome:
    """An uploaded file (name, bytes) attached to contract ``number``."""

    def work(session: Session) -> Outcome:
        filename, data = upload or ("", b"")
        document = store_document(
            session,
            actor,
            paths,
            filename=filename or "upload",
            data=data,
            contract=lookups.contract(session, number),
        )
        return Outcome(
            message=f"Attached {document.filename} (SHA-256 {document.sha256}).",
            target=number,
            detail={"sha256": document.sha256},
        )

    return write(db, actor, EDIT, work)
