"""The one writer: 0600 keys, 0700 directories, no overwrite without force, all-or-nothing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from iotedge_cli.certs import CertificateInputError
from iotedge_cli.certs.store import OutputFile, write_files

FILES = [
    OutputFile("a.cert.pem", b"cert"),
    OutputFile("private/a.key.pem", b"key", secret=True),
]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_modes(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    written = write_files(out, FILES)
    assert written == [out / "a.cert.pem", out / "private/a.key.pem"]
    assert mode(out) == 0o700
    assert mode(out / "private") == 0o700
    assert mode(out / "private/a.key.pem") == 0o600
    assert mode(out / "a.cert.pem") == 0o644
    assert sorted(p.name for p in out.rglob("*")) == ["a.cert.pem", "a.key.pem", "private"]


def test_existing_files_are_kept_without_force(tmp_path: Path) -> None:
    write_files(tmp_path, FILES)
    again = [OutputFile("new.pem", b"x"), OutputFile("a.cert.pem", b"other")]
    with pytest.raises(CertificateInputError) as info:
        write_files(tmp_path, again)
    assert info.value.message == f"{tmp_path / 'a.cert.pem'}: already exists; nothing was written"
    assert "--force" in (info.value.hint or "")
    assert (tmp_path / "a.cert.pem").read_bytes() == b"cert"
    assert not (tmp_path / "new.pem").exists()


def test_force_replaces(tmp_path: Path) -> None:
    write_files(tmp_path, FILES)
    write_files(tmp_path, [OutputFile("private/a.key.pem", b"key2", secret=True)], force=True)
    assert (tmp_path / "private/a.key.pem").read_bytes() == b"key2"
    assert mode(tmp_path / "private/a.key.pem") == 0o600
    assert sorted(p.name for p in (tmp_path / "private").iterdir()) == ["a.key.pem"]


def test_failure_leaves_nothing_behind(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    too_long = "x" * 250 + ".pem"  # the temporary name next to it exceeds NAME_MAX
    files = [*FILES, OutputFile(f"private/{too_long}", b"k", secret=True)]
    with pytest.raises(CertificateInputError, match="nothing was written"):
        write_files(out, files)
    assert not out.exists()


def test_failure_with_force_restores_old_files(tmp_path: Path) -> None:
    write_files(tmp_path, FILES)
    files = [
        OutputFile("a.cert.pem", b"new", secret=False),
        OutputFile("x" * 250 + ".pem", b"k"),
    ]
    with pytest.raises(CertificateInputError):
        write_files(tmp_path, files, force=True)
    assert (tmp_path / "a.cert.pem").read_bytes() == b"cert"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.cert.pem", "private"]


def test_a_directory_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.cert.pem").mkdir()
    with pytest.raises(CertificateInputError, match="not a regular file"):
        write_files(tmp_path, FILES, force=True)
