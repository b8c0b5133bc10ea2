"""Where the harness keeps what it can reuse (tokenised features, tiny models, trained artefacts), and how it
writes files so that a crash never leaves half of one."""

from __future__ import annotations

import hashlib
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


#: (folder, exclude) -> (what the files looked like when hashed, their hash); see folder_fingerprint
_HASHED: dict[tuple[str, tuple[str, ...]], tuple[list[list[object]], str]] = {}


def folder_fingerprint(folder: Path, exclude: tuple[str, ...] = ()) -> str:
    """A content hash of the bytes of every file in ``folder`` (the top-level names in ``exclude`` left out).

    The bytes are read every time in a new process: a flipped bit keeps a
    file's size and modification time, so a memo on those would certify rotten
    weights. Streaming a checkpoint through sha256 costs about a second per GB,
    little next to loading it. Within one process a folder is hashed once, and
    again whenever a file's inode, size, mtime or ctime changes (ctime cannot be
    set back by a user, and moves on every write), so repeated checks are free.
    """
    folder = folder.resolve()
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).parts[0] not in exclude)
    stats = [(p, p.stat()) for p in files]
    stamp = [[str(p.relative_to(folder)), s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns] for p, s in stats]
    memo_key = (str(folder), exclude)
    if memo_key in _HASHED and _HASHED[memo_key][0] == stamp:
        return _HASHED[memo_key][1]
    digest = hashlib.sha256()
    for p in files:
        digest.update(str(p.relative_to(folder)).encode())
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    sha = digest.hexdigest()[:16]
    _HASHED[memo_key] = (stamp, sha)
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
