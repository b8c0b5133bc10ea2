"""Atomic writes: a file or folder is whole or absent, and a failed write leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.paths import write_atomic, write_folder_atomic


def test_write_atomic_text_and_bytes(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a" / "t.txt", "héllo\n")
    write_atomic(tmp_path / "a" / "b.bin", b"\x89PNG")
    assert (tmp_path / "a" / "t.txt").read_text(encoding="utf-8") == "héllo\n"
    assert (tmp_path / "a" / "b.bin").read_bytes() == b"\x89PNG"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b.bin", "t.txt"]


def test_folder_is_whole_or_absent_and_the_first_writer_wins(tmp_path: Path) -> None:
    target = tmp_path / "cache" / "key"

    def broken(folder: Path) -> None:
        (folder / "part").write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_folder_atomic(target, broken)
    assert list((tmp_path / "cache").iterdir()) == []
    write_folder_atomic(target, lambda folder: (folder / "x").write_text("first"))
    write_folder_atomic(target, lambda folder: (folder / "x").write_text("second"))  # lost the race: kept
    assert (target / "x").read_text() == "first" and list((tmp_path / "cache").iterdir()) == [target]
