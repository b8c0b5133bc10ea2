"""The artefact store never destroys or silently trusts data: keys are plain names, bytes are verified, archives
are checked before anything is written."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.adapters import store as store_module
from harness.adapters.store import ArtefactStore, StoreError
from harness.cli import cli

KEY = "0123456789abcdef0123"


def make_artefact(store: ArtefactStore, key: str = KEY) -> Path:
    def write(folder: Path) -> None:
        (folder / "adapter").mkdir()
        (folder / "adapter" / "adapter_model.safetensors").write_bytes(bytes(range(256)) * 64)

    return store.save(key, {"base_fingerprint": "b", "role": "intermediate"}, write)


@pytest.fixture
def store(tmp_path: Path) -> ArtefactStore:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "other-cache.txt").write_text("keep me")
    store = ArtefactStore(tmp_path / "cache" / "adapters")
    make_artefact(store)
    return store


def intact(store: ArtefactStore) -> bool:
    return store.keys() == [KEY] and (store.root.parent / "other-cache.txt").is_file()


@pytest.mark.parametrize("command", ["rm", "show", "export"])
@pytest.mark.parametrize("key", [".", "..", "../adapters", "", ".writing-x", "ABSOLUTE"])
def test_store_commands_refuse_keys_that_are_not_plain_names(store, command, key, tmp_path) -> None:
    victim = tmp_path / "victim"  # an absolute path only ever inside the test's own folder
    victim.mkdir()
    key = str(victim) if key == "ABSOLUTE" else key
    result = CliRunner().invoke(cli, ["adapters", command, key, "--adapter-dir", str(store.root)])
    assert result.exit_code == 2 and "is not an artefact key" in result.output, result.output
    assert intact(store) and victim.is_dir()


def test_rm_checks_every_key_before_removing_any(store) -> None:
    result = CliRunner().invoke(cli, ["adapters", "rm", KEY, "..", "--adapter-dir", str(store.root)])
    assert result.exit_code == 2 and intact(store)


def test_intermediate_at_key_is_checked_before_anything_loads(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["run", "--tasks", "xnli", "--model", "tiny", "--intermediate", "@..",
                                      "--output", str(tmp_path / "runs")])  # fmt: skip
    assert result.exit_code == 2 and "--intermediate @..: '..' is not an artefact key" in result.output


def archive_of(members: dict[str, bytes | None], path: Path, links: dict[str, str] | None = None) -> Path:
    """A .tar.gz holding ``members`` (None: a folder) and symlinks ``links``."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return path


def test_import_of_an_archive_whose_folder_is_dot_keeps_the_store(store, tmp_path) -> None:
    exported = store.export(KEY, tmp_path)
    meta = json.loads((store.path(KEY) / "meta.json").read_text())
    weights = (store.path(KEY) / "adapter" / "adapter_model.safetensors").read_bytes()
    dot = archive_of({".": None, "./adapter/adapter_model.safetensors": weights,
                      "./meta.json": json.dumps({**meta, "key": "."}).encode()}, tmp_path / "dot.tar.gz")  # fmt: skip
    result = CliRunner().invoke(cli, ["adapters", "import", str(dot), "--adapter-dir", str(store.root)])
    assert result.exit_code == 2 and "its folder '.' is not an artefact key" in result.output, result.output
    assert intact(store)
    assert ArtefactStore(tmp_path / "fresh").import_archive(exported) == KEY  # a real export still imports


def test_meta_json_naming_another_key_is_refused(store) -> None:
    meta = store.path(KEY) / "meta.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "key": ".."}))
    with pytest.raises(StoreError, match="holds the meta.json of artefact '..'"):
        store.verify(KEY)


def test_flipped_bytes_with_size_and_mtime_kept_are_found(store) -> None:
    store.verify(KEY)  # hashed once: a memo on (name, size, mtime) would now vouch for the file
    weights = store.path(KEY) / "adapter" / "adapter_model.safetensors"
    before = weights.stat()
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (weights.stat().st_size, weights.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    with pytest.raises(StoreError, match="does not match its recorded content hash"):
        store.verify(KEY)


@pytest.mark.parametrize(
    "case, message",
    [
        ("symlink", "member '{k}/adapter/link' is not a plain file or folder"),
        ("fifo", "member '{k}/adapter/pipe' is not a plain file or folder"),
        ("bad-json", "its meta.json is not JSON"),
        ("too-big", "would unpack to"),
    ],
)
def test_hostile_archives_are_refused_in_one_line(store, tmp_path, monkeypatch, case, message) -> None:
    members: dict[str, bytes | None] = {f"{KEY}/meta.json": json.dumps({"key": KEY}).encode(),
                                        f"{KEY}/adapter/w": b"x" * 100}  # fmt: skip
    links = {f"{KEY}/adapter/link": "w"} if case == "symlink" else None
    if case == "bad-json":
        members[f"{KEY}/meta.json"] = b"\x00not json"
    if case == "too-big":
        monkeypatch.setattr(store_module, "MAX_ARCHIVE_BYTES", 50)
    path = archive_of(members, tmp_path / f"{case}.tar.gz", links)
    if case == "fifo":
        with tarfile.open(path, "w:gz") as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data or b"")
                tar.addfile(info, io.BytesIO(data or b""))
            fifo = tarfile.TarInfo(f"{KEY}/adapter/pipe")
            fifo.type = tarfile.FIFOTYPE
            tar.addfile(fifo)
    result = CliRunner().invoke(cli, ["adapters", "import", str(path), "--adapter-dir", str(store.root)])
    assert result.exit_code == 2 and message.format(k=KEY) in " ".join(result.output.split()), result.output
    assert intact(store) and not any(p.name.startswith(".") for p in store.root.iterdir())
