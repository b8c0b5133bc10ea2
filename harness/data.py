"""Loading a task's docs from the Hugging Face hub or from local files.

Local files follow google-research/xtreme's ``download/`` layout, so a user's
XTREME folder (and ``../shared/data`` in development) works with
``--data-dir DIR`` as-is. Both sources go through HF ``datasets`` (cached by its
own fingerprints) and end as a ``datasets.Dataset`` of docs; the task's
``process_docs`` hook then normalises them.
"""

from __future__ import annotations

import glob
import inspect
from pathlib import Path
from typing import Any

import datasets

from .errors import DataError
from .readers import READERS
from .spec import TaskConfig
from .templating import call_hook, render


def split_language(cfg: TaskConfig, split: str) -> str:
    """Training data is in ``train_language``; every evaluation split in ``language``."""
    return cfg.train_language if split == cfg.training_split else cfg.language


def source_context(cfg: TaskConfig, split: str, lang: str | None = None) -> dict[str, Any]:
    """What data-source templates see: ``lang``, ``split`` and the spec's ``template_vars``.

    ``lang`` defaults to the split's language; training on a held-out half of an
    evaluation split passes ``train_language`` explicitly.
    """
    return {**cfg.template_vars, "lang": lang or split_language(cfg, split), "split": split}


def local_patterns(cfg: TaskConfig, split: str, data_dir: Path, lang: str | None = None) -> list[Path]:
    """The rendered file patterns of one split under ``data_dir``."""
    where = f"{cfg.source.where('data_files') if cfg.source else cfg.task} (data_files.{split})"
    patterns = render(cfg.data_files[split], source_context(cfg, split, lang), where=where)
    return [data_dir / p for p in ([patterns] if isinstance(patterns, str) else patterns)]


def data_note(cfg: TaskConfig, split: str, lang: str | None = None) -> str:
    """The spec's ``data_note`` for this language, as a sentence to append to a missing-data error."""
    if not cfg.data_note:
        return ""
    return " " + str(render(cfg.data_note, source_context(cfg, split, lang), where=f"{cfg.task}: data_note"))


def hub_path(cfg: TaskConfig, split: str, lang: str | None = None) -> str:
    """The hub dataset of one split; empty when the task (or just this language) has no hub source."""
    ctx = source_context(cfg, split, lang)
    return str(render(cfg.dataset_path, ctx, where=f"{cfg.task}: dataset_path") or "")


def source_identity(cfg: TaskConfig, split: str, lang: str) -> dict[str, Any]:
    """Where one split of one language comes from, as rendered: hub dataset and local file patterns.

    What a trained model's key holds instead of the raw templates, so tasks whose
    training data is the same file share a model whatever their other splits are.
    """
    ctx = source_context(cfg, split, lang)
    where = f"{cfg.task}: source of split {split}"
    return {
        "hub": [
            hub_path(cfg, split, lang),
            render(cfg.dataset_name, ctx, where=where),
            render(cfg.hub_splits.get(split, split), ctx, where=where),
            render(cfg.dataset_kwargs, ctx, where=where),
        ],
        "local": [
            render(cfg.data_files.get(split), ctx, where=where),
            cfg.data_format,
            render(cfg.data_kwargs, ctx, where=where),
        ],
    }


def local_files(cfg: TaskConfig, split: str, data_dir: Path, lang: str | None = None) -> list[str]:
    """The files of one split under ``data_dir``; a clear error if they are missing."""
    lang = lang or split_language(cfg, split)
    if split not in cfg.data_files:
        raise DataError(
            f"Task {cfg.task!r} has no local file pattern for split {split!r} (data_files has: "
            f"{', '.join(cfg.data_files) or 'nothing'}). Load it from the hub by leaving out --data-dir, "
            f"or add the split to data_files in {cfg.source.path if cfg.source else 'its YAML'}."
        )
    found: list[str] = []
    for pattern in local_patterns(cfg, split, data_dir, lang):
        matches = sorted(glob.glob(str(pattern)))
        if not matches:
            hub = hub_path(cfg, split, lang)
            alternative = (
                f"or leave out --data-dir to load {hub} from the Hugging Face hub (cached in HF_DATASETS_CACHE)."
                if hub
                else "this task has no hub source."
            )
            raise DataError(
                f"Task {cfg.task!r}, language {lang!r}, split {split!r}: no file {pattern}. "
                f"--data-dir should point at a folder laid out like google-research/xtreme's download/ "
                f"(scripts/download_data.sh writes it); {alternative}{data_note(cfg, split, lang)}"
            )
        found.extend(matches)
    return found


def load_local(cfg: TaskConfig, split: str, data_dir: Path, lang: str | None = None) -> datasets.Dataset:
    lang = lang or split_language(cfg, split)
    files = local_files(cfg, split, data_dir, lang)
    fmt = cfg.data_format or Path(files[0]).suffix.lstrip(".")
    where = cfg.source.where("data_format") if cfg.source and "data_format" in cfg.source.data else f"Task {cfg.task!r}"
    reader = READERS.resolve(fmt, where)
    empty = [f for f in files if Path(f).stat().st_size == 0]
    if empty:
        raise DataError(
            f"Task {cfg.task!r}, language {lang!r}, split {split!r}: {', '.join(empty)} is empty. Supply the "
            f"whole file (was a download or copy cut short?).{data_note(cfg, split, lang)}"
        )
    # reader options may name the language (``language: "{{ lang }}"``); other strings stay literal
    templated = {k: v for k, v in cfg.data_kwargs.items() if isinstance(v, str) and "{{" in v}
    kwargs = {
        **cfg.data_kwargs,
        **render(templated, source_context(cfg, split, lang), where=f"{cfg.task}: data_kwargs"),
    }
    try:
        return reader(files, **kwargs)
    except DataError:
        raise
    except Exception as exc:  # a reader failing on a malformed file
        raise DataError(f"Task {cfg.task!r}: could not read {', '.join(files)} as {fmt}: {exc}") from exc


def load_hub(cfg: TaskConfig, split: str, lang: str | None = None) -> datasets.Dataset:
    lang = lang or split_language(cfg, split)
    path = hub_path(cfg, split, lang)
    if not path:
        raise DataError(
            f"Task {cfg.task!r}, language {lang!r} has no hub source (dataset_path) and reads local files only: "
            f"pass --data-dir DIR with the files its data_files name.{data_note(cfg, split, lang)}"
        )
    ctx = source_context(cfg, split, lang)
    name = render(cfg.dataset_name, ctx, where=f"{cfg.task}: dataset_name") if cfg.dataset_name else None
    hub_split = render(cfg.hub_splits.get(split, split), ctx, where=f"{cfg.task}: hub_splits")
    kwargs = render(cfg.dataset_kwargs, ctx, where=f"{cfg.task}: dataset_kwargs")
    try:
        return datasets.load_dataset(path, name, split=hub_split, **kwargs)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        files = ", ".join(f"{k}: {v}" for k, v in cfg.data_files.items()) or "none declared"
        raise DataError(
            f"Task {cfg.task!r}, language {lang!r}: could not load {path}"
            f"{f' (config {name})' if name else ''}, split {hub_split!r}, from the Hugging Face hub: {reason}. "
            f"Offline? Pass --data-dir DIR with the task's local files ({files}), or fill the HF cache "
            f"(HF_DATASETS_CACHE) on a machine with network first."
        ) from exc


def load_docs(cfg: TaskConfig, split: str, data_dir: Path | None, lang: str | None = None) -> datasets.Dataset:
    """The docs of one split: local files when ``data_dir`` is given, else the hub; then ``process_docs``.

    A hook with a ``language`` parameter gets the split's language, so it can
    pick one language out of a multilingual hub dataset (TyDiQA-GoldP).
    """
    lang = lang or split_language(cfg, split)
    docs = (
        load_local(cfg, split, data_dir, lang)
        if data_dir is not None and cfg.data_files
        else load_hub(cfg, split, lang)
    )
    if cfg.process_docs is not None:
        wants_language = "language" in inspect.signature(cfg.process_docs.resolve()).parameters
        where = f"{cfg.source.where('process_docs') if cfg.source else cfg.task}: process_docs ({lang} {split})"
        language = {"language": lang} if wants_language else {}
        docs = call_hook(cfg.process_docs, where, docs, **language)
    return docs


def has_split(cfg: TaskConfig, split: str | None, data_dir: Path | None, lang: str | None = None) -> bool:
    """Whether a split can be read without loading it (local files only; the hub is assumed complete)."""
    if split is None:
        return False
    if data_dir is None or not cfg.data_files:
        return True
    try:
        local_files(cfg, split, data_dir, lang)
    except DataError:
        return False
    return True
