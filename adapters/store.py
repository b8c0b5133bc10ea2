"""A content-addressed folder of trained artefacts, so a second run never retrains.

Each artefact lives in ``<root>/<key>/`` where ``key`` hashes everything that
determines the weights: base model fingerprint, method, task training identity
and data fingerprint, hyperparameters, seed, and the artefact it was trained on
top of. Inside: ``adapter/`` (PEFT's safetensors format) or ``encoder/`` (a full
fine-tuned checkpoint), ``heads/<training identity>.safetensors`` kept apart from the
adapter, and ``meta.json``: base model id and fingerprint, role, tasks and
their spec versions, training data hash, hyperparameters, seed, dev metrics,
harness version, and a hash of every other file, checked on every load. The
metadata, dev metrics included, is written with the files, in the same rename:
an artefact in the store is complete, and a killed run loses no part of one.

Artefacts are written to a temporary folder and renamed into place, so a crash
never leaves half of one, and an artefact in place is never removed or replaced
by another writer (same key, same content: the first one stays). Training
claims the key first (``claim``, a lock file in ``.locks/``; see
``harness.locks``), so processes sharing a store train each artefact once;
``export``/``import_archive`` move one as a single ``.tar.gz`` whose unpacked
files are bit-identical.
"""

from __future__ import annotations

import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.jsonio import dumps, loads
from harness.locks import claim
from harness.paths import cache_root, disk_space, folder_fingerprint, temp_prefix, user_permissions

META = "meta.json"

#: an artefact key is a content hash (``stable_hash``): lowercase hex, so a key is always one plain folder name
#: inside the store, never ``.``, ``..``, a path or a hidden temporary folder
KEY = re.compile(r"[0-9a-f]{8,64}")

#: the most an imported archive may unpack to (a full XLM-R large checkpoint is 2.2 GB), checked from its member
#: headers before anything is written, so a small archive cannot fill the disk before its hash is checked
MAX_ARCHIVE_BYTES = 16 * 10**9


def default_store_dir() -> Path:
    return cache_root() / "adapters"


class StoreError(HarnessError):
    """A broken, tampered-with or mismatched artefact."""


def check_key(key: object, where: str = "") -> str:
    """``key`` if it is a plain artefact key, else a ``StoreError`` saying where the bad key came from.

    Every key that enters the store (command line, archive folder, ``meta.json``,
    ``--intermediate @KEY``) passes here, because a key becomes a folder that is
    created, replaced and removed: ``.`` or ``..`` would name the store itself or
    the folder that holds it.
    """
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise StoreError(
            f"{where}{key!r} is not an artefact key: keys are the hexadecimal content hashes (digits and a-f) that "
            f"`harness adapters ls` lists, e.g. 3f9c0a12b4d5e6f70819."
        )
    return key


class ArtefactStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_store_dir()

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def has(self, key: str) -> bool:
        return (self.path(key) / META).is_file()

    def meta(self, key: str) -> dict[str, Any]:
        if not self.path(key).is_dir():
            raise StoreError(f"No artefact {key!r} in {self.root}; `harness adapters ls` lists the stored ones.")
        try:
            return loads((self.path(key) / META).read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"{self.path(key)} is not a valid artefact folder: no readable {META} ({exc}). Remove it with "
                f"`harness adapters rm {key}` and run again to retrain."
            ) from None

    def keys(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if KEY.fullmatch(p.name) and (p / META).is_file())

    def save(self, key: str, meta: dict[str, Any], write: Callable[[Path], None]) -> Path:
        """Write an artefact atomically: ``write(tmp_dir)`` fills the folder, then it is renamed into place."""
        with disk_space(self.root):
            return self._save(key, meta, write)

    def _save(self, key: str, meta: dict[str, Any], write: Callable[[Path], None]) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=temp_prefix(key)))
        try:
            write(tmp)
            meta = {**meta, "key": key, "content_hash": folder_fingerprint(tmp, exclude=(META,))}
            (tmp / META).write_text(dumps(meta, indent=2, sort_keys=True, default=str))
            user_permissions(tmp)
            self._move_into_place(tmp, key)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return self.path(key)

    def _move_into_place(self, folder: Path, key: str) -> None:
        """Rename ``folder`` to the key's place, unless an artefact is already there: it has the same content
        (same key) and may be in use by another process, so it is kept and ``folder`` is discarded."""
        try:
            folder.rename(self.path(key))
        except OSError:
            if not self.path(key).is_dir():
                raise

    def claim(self, key: str, say: Callable[[str], None] | None = None) -> AbstractContextManager[None]:
        """Hold the right to write ``key``; waits while another process (anywhere on a shared filesystem) does."""

        def waiting(owner: dict) -> None:
            if say is not None:
                say(f"[yellow]{key}[/]: being trained by pid {owner.get('pid')} on {owner.get('host')}; waiting")

        return claim(self.root / ".locks" / f"{key}.lock", waiting)

    def verify(self, key: str) -> dict[str, Any]:
        """The artefact's metadata, after checking its files still hash to what was saved."""
        meta = self.meta(key)
        if meta.get("key") != key:
            raise StoreError(
                f"Artefact folder {self.path(key)} holds the {META} of artefact {meta.get('key')!r}: it was renamed "
                f"or tampered with. Remove it with `harness adapters rm {key}` to retrain."
            )
        actual = folder_fingerprint(self.path(key), exclude=(META,))
        if actual != meta.get("content_hash"):
            raise StoreError(
                f"Artefact {key} in {self.root} does not match its recorded content hash "
                f"({actual} != {meta.get('content_hash')}): its files changed after it was saved. "
                f"Remove it with `harness adapters rm {key}` to retrain."
            )
        return meta

    def load_meta(self, key: str, base_fingerprint: str, task_type: str | None = None) -> dict[str, Any]:
        """Verified metadata of an artefact that is about to be used on ``base_fingerprint``."""
        meta = self.verify(key)
        if meta.get("base_fingerprint") != base_fingerprint:
            raise StoreError(
                f"Artefact {key} was trained on base model {meta.get('base_model')!r} "
                f"(fingerprint {meta.get('base_fingerprint')}), not on the loaded one ({base_fingerprint}). "
                f"Adapters only work on the exact base they were trained on: pass --model {meta.get('base_model')}."
            )
        if task_type is not None and task_type not in meta.get("task_types", []):
            raise StoreError(
                f"Artefact {key} was trained for task type(s) {', '.join(meta.get('task_types', []))} "
                f"({', '.join(meta.get('tasks', []))}), so its head cannot score a {task_type} task."
            )
        return meta

    def remove(self, key: str) -> None:
        if not self.path(key).exists():
            raise StoreError(f"No artefact {key!r} in {self.root}.")
        shutil.rmtree(self.path(key))

    # -- moving one artefact between machines ----------------------------------------------------

    def export(self, key: str, dest: Path) -> Path:
        """Write ``<dest>/<key>.tar.gz`` (or to ``dest`` if it names a file); verified before it leaves."""
        self.verify(key)
        out = dest / f"{key}.tar.gz" if dest.is_dir() else dest
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(temp_prefix(out.name) + "partial")
        try:
            with tarfile.open(tmp, "w:gz") as tar:
                for path in sorted(self.path(key).rglob("*")):
                    info = tar.gettarinfo(str(path), arcname=f"{key}/{path.relative_to(self.path(key))}")
                    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                    if path.is_file():
                        with path.open("rb") as fh:
                            tar.addfile(info, fh)
                    else:
                        tar.addfile(info)
            tmp.replace(out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return out

    def import_archive(self, archive: Path) -> str:
        """Unpack an exported artefact into the store; its content hash must still match.

        Refused before anything is written: members that are not plain files or
        folders (links, devices, FIFOs), paths outside one artefact folder, a key
        that is not a content hash, a ``meta.json`` that is not JSON, and an
        archive that would unpack to more than ``MAX_ARCHIVE_BYTES``.
        """
        try:
            tar = tarfile.open(archive, "r:gz")
        except (OSError, tarfile.TarError) as exc:
            raise StoreError(
                f"{archive} is not an exported artefact (a .tar.gz from `harness adapters export`): {exc}"
            ) from None
        with tar:
            try:
                members = tar.getmembers()
            except (OSError, tarfile.TarError, EOFError) as exc:
                raise StoreError(f"{archive} is damaged (cut short or corrupted): {exc}") from None
            names = [m.name for m in members]
            if any(n.startswith("/") or ".." in Path(n).parts for n in names):
                raise StoreError(f"{archive} has paths outside its artefact folder; refusing to unpack it.")
            for member in members:
                if not (member.isfile() or member.isdir()):
                    raise StoreError(
                        f"{archive}: member {member.name!r} is not a plain file or folder (a link, device or FIFO); "
                        f"`harness adapters export` writes none, so the archive was made elsewhere. Refusing it."
                    )
            size = sum(m.size for m in members)
            if size > MAX_ARCHIVE_BYTES:
                raise StoreError(
                    f"{archive} would unpack to {size / 1e9:.1f} GB, more than the {MAX_ARCHIVE_BYTES / 1e9:.0f} GB "
                    f"any artefact needs; refusing to unpack it."
                )
            keys = {n.split("/", 1)[0] for n in names}
            if len(keys) != 1 or f"{next(iter(keys))}/{META}" not in names:
                raise StoreError(f"{archive} does not hold exactly one artefact folder with a {META}.")
            key = check_key(keys.pop(), where=f"{archive}: its folder ")
            meta_file = tar.extractfile(f"{key}/{META}")  # None: a folder named meta.json
            try:
                meta = loads(meta_file.read() if meta_file is not None else b"")
            except ValueError as exc:
                raise StoreError(f"{archive}: its {META} is not JSON ({exc}); the archive is damaged.") from None
            if not isinstance(meta, dict) or meta.get("key") != key:
                found = meta.get("key") if isinstance(meta, dict) else None
                raise StoreError(f"{archive}: its {META} names artefact {found!r}, its folder {key!r}.")
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=temp_prefix(key)))
            try:
                if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12
                    tar.extractall(tmp, filter="data")
                else:
                    tar.extractall(tmp)
                actual = folder_fingerprint(tmp / key, exclude=(META,))
                if actual != meta.get("content_hash"):
                    raise StoreError(
                        f"{archive}: the files do not match the artefact's content hash "
                        f"({actual} != {meta.get('content_hash')}); the archive is damaged."
                    )
                user_permissions(tmp / key)  # an archive's modes are its maker's
                self._move_into_place(tmp / key, key)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return key
