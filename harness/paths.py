"""Where the harness keeps what it can reuse (tokenised features, tiny models, trained artefacts), and how it
writes files so that a crash never leaves half of one."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def cache_root() -> Path:
    """``$HARNESS_CACHE``, else ``~/.cache/harness`` (the XDG default)."""
    env = os.environ.get("HARNESS_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "harness"


def folder_fingerprint(folder: Path, exclude: tuple[str, ...] = ()) -> str:
    """A content hash of every file in ``folder``, memoised on (name, size, mtime).

    Hashing a 2 GB checkpoint takes seconds, so the result is remembered in the
    cache (never in the user's folder) and recomputed only when a file changes.
    """
    folder = folder.resolve()
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).parts[0] not in exclude)
    stamp = [[str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    memo = cache_root() / "fingerprints" / f"{hashlib.sha256(str(folder).encode()).hexdigest()[:16]}.json"
    try:
        cached = json.loads(memo.read_text())
        if cached["stamp"] == stamp:
            return cached["sha256"]
    except (OSError, ValueError, KeyError):
        pass
    digest = hashlib.sha256()
    for p in files:
        digest.update(str(p.relative_to(folder)).encode())
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    sha = digest.hexdigest()[:16]
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        memo.write_text(json.dumps({"stamp": stamp, "sha256": sha}))
    except OSError:  # a read-only cache is fine, just slower next time
        pass
    return sha


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_folder_atomic(path: Path, fill: Callable[[Path], None]) -> Path:
    """Let ``fill`` write a temporary folder beside ``path``, then rename it into place: ``path`` is whole or absent.

    For content-addressed folders (features, tiny models): when another process
    renamed the same key into place first, its folder is kept, being the same.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".writing-{path.name}-"))
    try:
        fill(tmp)
        try:
            tmp.rename(path)
        except OSError:
            if not path.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone after the rename; a failed fill leaves nothing behind
    return path
