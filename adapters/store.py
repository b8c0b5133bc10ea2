"""A content-addressed folder of trained artefacts, so a second run never retrains.

Each artefact lives in ``<root>/<key>/`` where ``key`` hashes everything that
determines the weights: base model fingerprint, method, task training identity
and data fingerprint, hyperparameters, seed, and the keys of the artefacts it
was trained on top of. ``meta.json`` records those inputs plus a hash of the
files, checked when the artefact is loaded. Artefacts are written to a
temporary folder and renamed into place, so a crash never leaves half of one.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.paths import cache_root, folder_fingerprint

META = "meta.json"


def default_store_dir() -> Path:
    return cache_root() / "adapters"


class StoreError(HarnessError):
    """A broken, tampered-with or mismatched artefact."""


class ArtefactStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_store_dir()

    def path(self, key: str) -> Path:
        return self.root / key

    def has(self, key: str) -> bool:
        return (self.path(key) / META).is_file()

    def meta(self, key: str) -> dict[str, Any]:
        try:
            return json.loads((self.path(key) / META).read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"Artefact {key} in {self.root} has no readable {META} ({exc}). Remove it with "
                f"`harness adapters rm {key}` and run again to retrain."
            ) from None

    def keys(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / META).is_file())

    def save(self, key: str, meta: dict[str, Any], write: Callable[[Path], None]) -> Path:
        """Write an artefact atomically: ``write(tmp_dir)`` fills the folder, then it is renamed into place."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=f".writing-{key}-"))
        try:
            write(tmp)
            meta = {**meta, "key": key, "content_hash": folder_fingerprint(tmp, exclude=(META,))}
            (tmp / META).write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))
            target = self.path(key)
            if target.exists():
                shutil.rmtree(target)
            tmp.rename(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return self.path(key)

    def verify(self, key: str) -> dict[str, Any]:
        """The artefact's metadata, after checking its files still hash to what was saved."""
        meta = self.meta(key)
        actual = folder_fingerprint(self.path(key), exclude=(META,))
        if actual != meta.get("content_hash"):
            raise StoreError(
                f"Artefact {key} in {self.root} does not match its recorded content hash "
                f"({actual} != {meta.get('content_hash')}): its files changed after it was saved. "
                f"Remove it with `harness adapters rm {key}` to retrain."
            )
        return meta

    def remove(self, key: str) -> None:
        if not self.path(key).exists():
            raise StoreError(f"No artefact {key} in {self.root}.")
        shutil.rmtree(self.path(key))
