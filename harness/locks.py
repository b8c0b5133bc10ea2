"""Claims on shared work: one process computes a unit, the others wait for its result.

Several ``harness run`` processes, Ray actors or SLURM jobs may share one
artefact store and one results folder, on one machine or on a shared
filesystem. Before computing something that lands under a content key, a
process *claims* it with a lock file beside the store, created with
``O_CREAT | O_EXCL``: that create is atomic on local filesystems and on NFS
(v3 and later), where ``flock``/``fcntl`` locks are often unsupported or silently
local to one client, so it is the one primitive every shared filesystem keeps.

A lock file cannot be released by an owner that crashed, so it says who owns it
(host, pid, a random token) and the owner refreshes its modification time every
``HEARTBEAT_S`` seconds from a daemon thread. A waiting process treats a lock as
abandoned when its owner is a dead pid on the same host (known at once) or when
its heartbeat is older than ``STALE_S`` (a crashed owner on another machine).
Breaking a lock renames it to a unique name first (atomic: of several breakers
exactly one wins) and checks that what it took is the stale file it read.

Locks guard only the computation, never the results: results are published
whole by an atomic rename (``harness.paths``), so a crash leaves either nothing
or a finished result, and nothing finished is ever deleted. The worst case of a
wrongly broken lock (a live owner whose heartbeat stalled for ``STALE_S``) is
the same content computed twice and published once.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .paths import host_name, process_dead

HEARTBEAT_S = 5.0
STALE_S = 60.0
POLL_S = 0.2


def _owner(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # gone, or being written this instant: look again on the next poll


def _abandoned(path: Path, owner: dict | None) -> bool:
    """A dead pid on this host, or no heartbeat for ``STALE_S`` (also an owner that died before writing its name)."""
    if owner is not None and process_dead(owner.get("host"), owner.get("pid")):
        return True
    try:
        return time.time() - path.stat().st_mtime > STALE_S
    except FileNotFoundError:
        return False


def _break(path: Path, owner: dict | None) -> None:
    taken = path.with_name(f"{path.name}.broken-{secrets.token_hex(4)}")
    try:
        path.rename(taken)
    except FileNotFoundError:
        return  # another waiter broke it first
    if _owner(taken) != owner:  # a new owner's fresh lock, not the stale one: give it back
        with contextlib.suppress(FileExistsError):
            os.link(taken, path)
    taken.unlink(missing_ok=True)


def _try_create(path: Path, owner: dict) -> bool:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(owner, allow_nan=False))
    return True


@contextlib.contextmanager
def claim(path: Path, on_wait: Callable[[dict], None] | None = None) -> Iterator[None]:
    """Hold the lock file ``path`` for the body of the ``with``; wait (polling) while a live owner holds it.

    Callers check whether the result exists both before and inside the claim:
    the owner they waited for has usually just published it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    me = {"host": host_name(), "pid": os.getpid(), "token": secrets.token_hex(8), "since": time.time()}
    told = False
    while not _try_create(path, me):
        owner = _owner(path)
        if _abandoned(path, owner):
            _break(path, owner)
            continue
        if owner is not None and not told and on_wait is not None:
            on_wait(owner)
            told = True
        time.sleep(POLL_S)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            with contextlib.suppress(OSError):
                os.utime(path)

    thread = threading.Thread(target=beat, name=f"heartbeat {path.name}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        if _owner(path) == me:
            path.unlink(missing_ok=True)
