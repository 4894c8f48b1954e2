"""The drop folder: which files are ready to load, and where each goes afterwards.

A file is taken only when it is a regular file that has not changed for the settle
time (a copy or an export still being written would otherwise load half); a
symbolic link or anything else that is not a regular file is refused without
being read or followed. After the load, a file goes to ``archive/<day>/`` (loaded
or already loaded) or to ``rejected/`` beside a note saying why; one that changed
while it was being loaded stays in the inbox, so the next refresh loads what it
holds now.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from avtale.settings import private_dir, tighten
from ingestion.files import display_name
from ingestion.load import FileResult, LoadReport

SETTLE_ENV = "AVTALE_INBOX_SETTLE_S"
DEFAULT_SETTLE_S = 2.0
# Names that browsers and copy tools give files they are still writing.
IN_PROGRESS_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", "~")
NOTE_SUFFIX = ".error.txt"
# File names are cut to this many bytes when moved, so the note beside them still fits
# in the 255 bytes a name may have.
MAX_NAME_BYTES = 200


@dataclass
class InboxScan:
    ready: list[Path] = field(default_factory=list)
    refused: list[FileResult] = field(default_factory=list)
    waiting: list[FileResult] = field(default_factory=list)

    def key(self) -> str:
        """Changes whenever what a refresh would do with the inbox changes."""
        entries = [*self.ready, *(r.path for r in self.refused)]
        return "|".join(f"{p}:{_signature(p)}" for p in entries)


def settle_seconds() -> float:
    raw = os.environ.get(SETTLE_ENV, "")
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_SETTLE_S
    except ValueError:
        raise ValueError(f"{SETTLE_ENV} must be a number of seconds, not {raw!r}") from None


def scan(inbox: Path, settle_s: float | None = None, now: float | None = None) -> InboxScan:
    settle = settle_seconds() if settle_s is None else settle_s
    now = time.time() if now is None else now
    found = InboxScan()
    for path, status in _entries(inbox):
        if stat.S_ISLNK(status.st_mode):
            found.refused.append(
                FileResult(path, "error", message="a symbolic link; the inbox takes only files")
            )
        elif not stat.S_ISREG(status.st_mode):
            found.refused.append(FileResult(path, "error", message="not a regular file"))
        elif path.name.endswith(IN_PROGRESS_SUFFIXES):
            found.waiting.append(
                FileResult(path, "waiting", message="still being downloaded or copied")
            )
        elif now - status.st_mtime < settle:
            found.waiting.append(
                FileResult(
                    path,
                    "waiting",
                    message=f"changed {max(0.0, now - status.st_mtime):.1f} s ago; loaded once "
                    f"it has not changed for {settle:g} s",
                )
            )
        else:
            found.ready.append(path)
    return found


def _entries(folder: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """Every entry below ``folder`` except hidden ones, without following links."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue  # .DS_Store, editor locks: never data
        status = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(status.st_mode):
            yield from _entries(Path(entry.path))
        else:
            yield Path(entry.path), status


def _signature(path: Path) -> str:
    try:
        status = path.lstat()
    except FileNotFoundError:
        return "gone"
    return f"{status.st_size}:{status.st_mtime_ns}"


def file_away(report: LoadReport, archive: Path, rejected: Path) -> None:
    """Move each file of the report out of the inbox (see the module docstring)."""
    for result in report.files:
        if result.status == "waiting":
            continue
        if result.status != "error" and _changed_since_read(result):
            result.message = (
                "changed after it was read: loaded as it was then, and left in the inbox "
                "so the next refresh loads it as it is now"
            )
            continue
        target = rejected if result.status == "error" else archive
        try:
            destination = move_into(target, result.path)
            if result.status == "error":
                note = destination.with_name(destination.name + NOTE_SUFFIX)
                note.write_text(f"{result.message}\n", encoding="utf-8")
                tighten(note)
        except OSError as exc:
            result.message += f" (could not be moved out of the inbox: {exc.strerror})"


def move_into(folder: Path, source: Path) -> Path:
    """Move ``source`` into ``folder`` (made private) under a free name; where it went."""
    private_dir(folder)
    destination = _free_name(folder, source)
    shutil.move(source, destination)
    tighten(destination)  # it keeps the mode it was dropped in with
    return destination


def _changed_since_read(result: FileResult) -> bool:
    if result.size is None:
        return False
    try:
        status = result.path.lstat()
    except FileNotFoundError:
        return False
    return (status.st_size, status.st_mtime_ns) != (result.size, result.mtime_ns)


def _free_name(folder: Path, source: Path) -> Path:
    """`deals.csv`, else `deals.2.csv`, ...: a second export of the day keeps the first.
    The name is made showable and short enough for its note to fit beside it."""
    name = display_name(source).replace("/", "_")
    suffix = Path(name).suffix if len(Path(name).suffix.encode()) <= 16 else ""
    stem = name[: len(name) - len(suffix)]
    stem = stem.encode()[: MAX_NAME_BYTES - len(suffix.encode())].decode("utf-8", "ignore")
    candidate, n = folder / f"{stem}{suffix}", 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = folder / f"{stem}.{n}{suffix}"
    return candidate
