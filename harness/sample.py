"""The embedded sample of XTREME-R data (``sample_data/``): the default data when nothing else is there.

A first run (``harness run --tasks xnli --model tiny``) should need nothing beside the package. Without
``--data-dir`` the data comes from the Hugging Face hub; when the hub is offline (``HF_HUB_OFFLINE``) or cannot be
reached, and the sample holds every requested task, the sample stands in, laid out as XTREME's ``download/``
folder so the task specs read it as they read a full download. What it covers is read from its
``manifest.json`` (no data loaded, nothing heavy imported), and the run says in one line that it is a sample.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from .hub import offline_reason
from .registry import TaskIndex

SAMPLE_DIR = Path(__file__).resolve().parent / "sample_data"


def data_setting(data_dir: Path | None) -> dict[str, str]:
    """A record's setting for the embedded sample: its scores are over other docs than a full download's, so a
    report keeps them in rows of their own (labelled ``data``) rather than averaging them with full-data ones."""
    return {"data": "embedded sample"} if data_dir is not None and Path(data_dir).resolve() == SAMPLE_DIR else {}


@functools.cache  # read once: which tasks the sample covers, then what the run says about it
def manifest() -> dict[str, dict[str, Any]]:
    """Per task family: its languages, evaluation docs per language and bytes in the sample."""
    return json.loads((SAMPLE_DIR / "manifest.json").read_text(encoding="utf-8"))


def covers(index: TaskIndex, names: list[str]) -> list[str] | None:
    """The task families of ``names`` when the sample holds every language of them, else None."""
    held = manifest()
    families: list[str] = []
    for name in names:
        for task in index.expand(name):
            family = index.family(task)
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
        why = offline_reason()
    if why is None:
        return None
    held = manifest()
    what = ", ".join(f"{f} ({held[f]['docs_per_language']} docs × {len(held[f]['languages'])} languages)"
                     for f in families)  # fmt: skip
    size = sum(held[f]["bytes"] for f in families) / 1e6
    console.print(f"No --data-dir and the Hugging Face hub is not reachable ({why}): using the sample of XTREME-R "
                  f"data embedded in the package, {what}, {size:.1f} MB; a sample, not the full sets "
                  f"({SAMPLE_DIR}/README.md).")  # fmt: skip
    return SAMPLE_DIR
