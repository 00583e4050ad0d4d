"""The one function that writes certificate files: :func:`write_files`.

Guarantees: private keys are 0600 and the directories edgectl creates are 0700; every file is
written to a temporary file next to its target, flushed, then renamed into place; an existing
file is never replaced unless ``force`` (and then atomically); and the set is all-or-nothing:
if anything fails, files already moved into place are removed again (or, with ``force``,
restored from hard-linked backups), so no half-written chain is left behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from iotedge_cli.certs import CertificateInputError

KEY_MODE = 0o600
FILE_MODE = 0o644
DIR_MODE = 0o700


@dataclass(frozen=True)
class OutputFile:
    """``path`` is relative to the output directory; ``secret`` files get mode 0600."""

    path: str
    data: bytes
    secret: bool = False


def write_files(out: Path, files: Sequence[OutputFile], *, force: bool = False) -> list[Path]:
    """Write every file under ``out`` or none of them; return the paths written."""
    targets = [out / f.path for f in files]
    if len(set(targets)) != len(targets):
        raise ValueError("two output files have the same path")  # a bug, not user input
    existing = [t for t in targets if os.path.lexists(t)]
    if existing and not force:
        names = ", ".join(str(t) for t in existing[:3]) + (" …" if len(existing) > 3 else "")
        raise CertificateInputError(
            f"{names}: already exist{'s' if len(existing) == 1 else ''}; nothing was written",
            hint="pass --force to replace them, or choose another --out directory",
        )
    for t in existing:
        if not t.is_file() or t.is_symlink():
            raise CertificateInputError(
                f"{t}: exists and is not a regular file; nothing was written",
                hint="remove it or choose another --out directory",
            )
    created: list[Path] = []
    staged: list[tuple[Path, Path]] = []  # (temporary, target)
    placed: list[tuple[Path, Path | None]] = []  # (target, backup of the old file)
    try:
        for target in targets:
            _make_dirs(target.parent, created)
        for spec, target in zip(files, targets, strict=True):
            staged.append((_stage(spec, target), target))
        for tmp, target in staged:
            backup = None
            if force and target.exists():
                backup = _backup(target)
                tmp.replace(target)
            else:
                os.link(tmp, target)  # fails if the target appeared meanwhile: never clobber
                tmp.unlink()
            placed.append((target, backup))
    except OSError as exc:
        for target, backup in reversed(placed):
            with contextlib.suppress(OSError):
                if backup is not None:
                    backup.replace(target)
                else:
                    target.unlink()
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
        for directory in reversed(created):
            with contextlib.suppress(OSError):
                directory.rmdir()
        where = exc.filename or out
        raise CertificateInputError(
            f"{where}: cannot write: {exc.strerror or exc}; nothing was written",
            hint="check that the --out directory is writable",
        ) from None
    for _, backup in placed:
        if backup is not None:
            with contextlib.suppress(OSError):
                backup.unlink()
    return targets


def _make_dirs(directory: Path, created: list[Path]) -> None:
    missing: list[Path] = []
    d = directory
    while not d.exists():
        missing.append(d)
        d = d.parent
    for d in reversed(missing):
        d.mkdir(mode=DIR_MODE)
        d.chmod(DIR_MODE)  # mkdir's mode is filtered by the umask
        created.append(d)


def _stage(spec: OutputFile, target: Path) -> Path:
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        os.fchmod(fd, KEY_MODE if spec.secret else FILE_MODE)  # mkstemp makes it 0600
        with os.fdopen(fd, "wb") as handle:
            handle.write(spec.data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return tmp


def _backup(target: Path) -> Path:
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".bak")
    os.close(fd)
    backup = Path(name)
    backup.unlink()
    os.link(target, backup)
    return backup
