"""The embedded sample of XTREME-R data (``sample_data/``): the default data when nothing else is there.

A first run (``harness run --tasks xnli --model tiny``) should need nothing beside the package. Without
``--data-dir`` the data comes from the Hugging Face hub; when the hub is offline (``HF_HUB_OFFLINE``) or cannot be
reached, and the sample holds every requested task, the sample stands in, laid out as XTREME's ``download/``
folder so the task specs read it as they read a full download. What it covers is read from its
``manifest.json`` (no data loaded, nothing heavy imported), and the run says in one line that it is a sample.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rich.console import Console

from .registry import TaskIndex

SAMPLE_DIR = Path(__file__).resolve().parent / "sample_data"
#: how long the one reachability probe of the hub may take (name lookup included)
HUB_PROBE_S = 2.0


def data_setting(data_dir: Path | None) -> dict[str, str]:
    """A record's setting for the embedded sample: its scores are over other docs than a full download's, so a
    report keeps them in rows of their own (labelled ``data``) rather than averaging them with full-data ones."""
    return {"data": "embedded sample"} if data_dir is not None and Path(data_dir).resolve() == SAMPLE_DIR else {}


def manifest() -> dict[str, dict[str, Any]]:
    """Per task family: its languages, evaluation docs per language and bytes in the sample."""
    return json.loads((SAMPLE_DIR / "manifest.json").read_text(encoding="utf-8"))


def _truthy(value: str | None) -> bool:
    return (value or "").strip().upper() in {"1", "ON", "YES", "TRUE"}


@cache
def hub_unreachable() -> str | None:
    """Why the hub cannot be used (``HF_HUB_OFFLINE`` set, or one TCP connection to its endpoint failed), or None.

    The name lookup runs in a thread, since ``getaddrinfo`` ignores socket timeouts and can hang for tens of
    seconds where there is no network; an answer later than ``HUB_PROBE_S`` counts as unreachable.
    """
    for variable in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        if _truthy(os.environ.get(variable)):
            return f"is offline ({variable})"
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    answered: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=HUB_PROBE_S).close()
            answered.append(True)
        except OSError:
            answered.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(HUB_PROBE_S)
    return None if answered and answered[0] else f"cannot be reached ({host}:{port})"


def covers(index: TaskIndex, names: list[str]) -> list[str] | None:
    """The task families of ``names`` when the sample holds every language of them, else None."""
    held = manifest()
    families: list[str] = []
    for name in names:
        for task in index.expand(name):
            parents = index.parent_groups(task)
            family = parents[0] if parents else task
            if family not in held or index.task(task).language not in held[family]["languages"]:
                return None
            families.append(family)
    return list(dict.fromkeys(families)) or None


def default_data_dir(names: list[str], include_paths: list[Path], console: Console) -> Path | None:
    """The sample folder, when it should stand in for the hub (see the module's docstring), else None."""
    families = covers(TaskIndex(include_paths), names) if names else None
    if families is None:
        return None
    with console.status("No --data-dir: is the Hugging Face hub reachable?"):
        why = hub_unreachable()
    if why is None:
        return None
    held = manifest()
    what = ", ".join(f"{f} ({held[f]['docs_per_language']} docs × {len(held[f]['languages'])} languages)"
                     for f in families)  # fmt: skip
    size = sum(held[f]["bytes"] for f in families) / 1e6
    console.print(f"No --data-dir and the Hugging Face hub {why}: using the sample of XTREME-R data embedded in the "
        f"package, {what}, {size:.1f} MB; a sample, not the full sets ({SAMPLE_DIR}/README.md).")  # fmt: skip
    return SAMPLE_DIR
