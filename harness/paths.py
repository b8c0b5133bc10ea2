"""Where the harness keeps what it can reuse (tokenised features, tiny models, trained artefacts), and how it
writes files so that a crash never leaves half of one."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import HarnessError


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


#: ``.writing-<name>~<host>~<pid>~<random>``: every temporary file or folder the harness writes says who owns it
_TEMP = re.compile(r"\.writing-.*~(?P<host>[^~/]*)~(?P<pid>\d+)~[^~/]*")


def host_name() -> str:
    """This machine's name as owners of temporaries and locks record it (safe in a file name)."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())


def process_dead(host: object, pid: object) -> bool:
    """Whether the process ``pid`` of machine ``host`` is known to have ended: the one liveness check of
    temporaries and locks. Only a pid of this machine can be checked; another machine's, an unreadable pid,
    or another user's live process is not known to be dead."""
    if host != host_name() or not isinstance(pid, (int, str)):
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, TypeError, ValueError, OverflowError):
        return False
    return False


def temp_prefix(name: str) -> str:
    """The prefix of a temporary file or folder written for ``name`` by this process (see ``owner_alive``)."""
    return f".writing-{name}~{host_name()}~{os.getpid()}~"


def owner_alive(temp: Path) -> bool:
    """Whether the temporary file or folder ``temp`` may still be written to by the process that made it.

    The one place that decides when a temporary is stale. Its name carries the
    host and pid of its writer (``temp_prefix``). Only a temporary of this host
    whose pid no longer exists is dead; one from another host sharing the folder
    (a cluster's network disk) cannot be checked and counts as alive, and so
    does a name without an owner. A reused pid also counts as alive: a stale
    temporary may then be kept a while longer, a live one is never removed.
    """
    match = _TEMP.fullmatch(temp.name)
    return match is None or not process_dead(match["host"], match["pid"])


def remove_stale_temps(folder: Path) -> list[Path]:
    """Remove the temporaries in ``folder`` whose writer is dead (a killed run's half-written artefacts, features,
    records); returns what was removed."""
    removed = []
    for temp in sorted(folder.glob(".writing-*")) if folder.is_dir() else []:
        if not owner_alive(temp):
            if temp.is_dir() and not temp.is_symlink():
                shutil.rmtree(temp, ignore_errors=True)
            else:
                temp.unlink(missing_ok=True)
            removed.append(temp)
    return removed


def file_name(text: str) -> str:
    """``text`` (a task name, a noise condition: strings from YAML and the command line) as one plain file name:
    path separators and other unusual characters become ``_``, and a leading dot is escaped, so a file named
    after it stays inside its folder and is never hidden."""
    name = re.sub(r"[^\w.@:+=,%-]", "_", text)
    return f"_{name}" if name.startswith(".") or not name else name


@contextmanager
def disk_space(folder: Path) -> Iterator[None]:
    """A full disk while writing into ``folder`` becomes a message naming the folder (the temporary being written
    is gone by then, and everything finished before is kept)."""
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        raise HarnessError(
            f"No space left on the disk that holds {folder}. Free some space there (or move the cache with "
            f"HARNESS_CACHE, the results with --output, the trained models with --adapter-dir) and run the same "
            f"command again: finished work is kept and not redone."
        ) from None


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one, never half."""
    with disk_space(path.parent):
        _write_atomic(path, data)


def umask() -> int:
    """The process's umask, read from /proc where there is one: setting it to read it back (the only portable
    way) would, for an instant, apply to the files other threads create."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("Umask:")), 8)
    except (OSError, StopIteration, ValueError, IndexError):
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


def user_permissions(folder: Path) -> None:
    """Give ``folder`` and everything in it the permissions that mkdir() and open() give under the user's umask,
    before it is renamed into place: mkdtemp makes 0700 and some libraries write 0600 (safetensors 0.8), and
    results, reports and trained models are for a lab to share."""
    mask = umask()
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod((0o777 if path.is_dir() else 0o666 | path.stat().st_mode & 0o111) & ~mask)


def _write_atomic(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix(path.name))
    try:
        os.fchmod(fd, 0o666 & ~umask())  # mkstemp's 0600, which the rename would keep: as open() would make it
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
    with disk_space(path.parent):
        return _write_folder_atomic(path, fill)


def _write_folder_atomic(path: Path, fill: Callable[[Path], None]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=temp_prefix(path.name)))
    try:
        fill(tmp)
        user_permissions(tmp)
        try:
            tmp.rename(path)
        except OSError:
            if not path.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone after the rename; a failed fill leaves nothing behind
    return path
