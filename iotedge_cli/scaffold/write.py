"""The only code in scaffolding that writes to disk: all or nothing, never overwriting.

A new folder is built complete in a temporary folder next to it and renamed into place; the
replacement of each edited file is staged next to it first. Only then are the renames done;
if one fails, the ones already done are undone (the new folder removed, edited files given
their old bytes back), so a failure half-way leaves the tree as it was. An edited file whose
content changed since it was read is not touched (someone else is editing it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from iotedge_cli.errors import InputError, UsageError
from iotedge_cli.scaffold.plan import EXEC_MODE, SECRET_MODE, PlannedFile


@dataclass(frozen=True)
class FileEdit:
    path: Path
    old: bytes  # the content the edit was computed from
    new: bytes


@dataclass(frozen=True)
class Change:
    """Create folder ``root`` holding ``files`` (and empty ``dirs``), and apply ``edits``."""

    root: Path
    files: Sequence[PlannedFile]
    dirs: Sequence[str] = ()
    edits: Sequence[FileEdit] = field(default_factory=tuple)


def apply(change: Change) -> None:
    """Make ``change`` happen completely or not at all; see the module docstring."""
    root = change.root
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise UsageError(
            f"{root} already exists; edgectl never overwrites it",
            hint="choose another name, or remove it first",
        )
    for edit in change.edits:
        try:
            current = edit.path.read_bytes()
        except OSError as exc:
            raise InputError(f"{edit.path}: cannot read: {exc.strerror}") from None
        if current != edit.old:
            raise UsageError(
                f"{edit.path} changed while edgectl was working; nothing was written",
                hint="run the command again",
            )
    umask = _umask()
    made_parents: list[Path] = []
    staged: list[tuple[FileEdit, Path]] = []
    tmp_root: Path | None = None
    replaced: list[FileEdit] = []
    placed = False
    root_existed = root.exists()
    try:
        parent = root.parent
        missing = []
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        for p in reversed(missing):
            p.mkdir()
            made_parents.append(p)
        tmp_root = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}.edgectl-"))
        for d in change.dirs:
            (tmp_root / d).mkdir(parents=True, exist_ok=True)
        for f in change.files:
            target = tmp_root.joinpath(*f.path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.content)
            mode = f.mode if f.mode == SECRET_MODE else f.mode & ~umask
            target.chmod(mode)
        for folder in sorted({p for p in tmp_root.rglob("*") if p.is_dir()} | {tmp_root}):
            folder.chmod(0o777 & ~umask)
        for edit in change.edits:
            fd, tmp_name = tempfile.mkstemp(dir=edit.path.parent, prefix=f".{edit.path.name}.")
            staged.append((edit, Path(tmp_name)))
            with os.fdopen(fd, "wb") as fh:
                fh.write(edit.new)
            Path(tmp_name).chmod(edit.path.stat().st_mode & 0o777)
        if root.exists():
            root.rmdir()  # empty (checked above); a folder cannot be renamed over it everywhere
        tmp_root.rename(root)
        placed = True
        for edit, tmp in staged:
            tmp.replace(edit.path)
            replaced.append(edit)
    except OSError as exc:
        _undo(root, placed, root_existed, replaced, staged, tmp_root, made_parents)
        raise InputError(
            f"cannot write {exc.filename or root}: {exc.strerror or exc}; nothing was changed",
            hint="check the folder's permissions and free space",
        ) from None
    except BaseException:
        _undo(root, placed, root_existed, replaced, staged, tmp_root, made_parents)
        raise


def _undo(
    root: Path,
    placed: bool,
    root_existed: bool,
    replaced: list[FileEdit],
    staged: list[tuple[FileEdit, Path]],
    tmp_root: Path | None,
    made_parents: list[Path],
) -> None:
    for edit in replaced:
        fd, name = tempfile.mkstemp(dir=edit.path.parent, prefix=f".{edit.path.name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(edit.old)
        Path(name).replace(edit.path)
    for _, tmp in staged:
        tmp.unlink(missing_ok=True)
    if placed:
        shutil.rmtree(root, ignore_errors=True)
    if root_existed and not root.exists():
        root.mkdir()
    if tmp_root is not None and tmp_root.exists():
        shutil.rmtree(tmp_root, ignore_errors=True)
    for p in reversed(made_parents):
        with contextlib.suppress(OSError):
            p.rmdir()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


__all__ = ["EXEC_MODE", "Change", "FileEdit", "apply"]
