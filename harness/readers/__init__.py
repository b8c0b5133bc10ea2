"""Local-file readers, registered by ``data_format`` name.

A reader takes the list of files of one split (and the spec's ``data_kwargs``)
and returns a ``datasets.Dataset`` of docs. Plain formats go through HF
``datasets`` builders (cached by its fingerprints); structured ones (SQuAD
JSON, CoNLL, parallel text) have their own module here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import datasets

Reader = Callable[..., datasets.Dataset]
READERS: dict[str, Reader] = {}


def register_reader(name: str) -> Callable[[Reader], Reader]:
    """Register a local-file reader: ``reader(files, **data_kwargs) -> Dataset``."""

    def wrap(fn: Reader) -> Reader:
        READERS[name] = fn
        return fn

    return wrap


def _string_features(columns: list[str]) -> datasets.Features:
    return datasets.Features({c: datasets.Value("string") for c in columns})


@register_reader("tsv")
def read_tsv(
    files: list[str],
    columns: list[str] | None = None,
    header: bool = False,
    replace: dict[str, dict[str, str]] | None = None,
) -> datasets.Dataset:
    """Tab-separated text with no quoting (XTREME's XNLI/PAWS-X files contain bare quotes).

    ``columns`` names the columns (with ``header``, instead of the header row's names); ``replace`` maps
    values of a column, e.g. XNLI-MT's ``contradictory`` to ``contradiction`` as XTREME's preprocessing does.
    """
    kwargs: dict[str, Any] = {"delimiter": "\t", "quoting": 3, "keep_default_na": False}
    if columns:
        kwargs["features"] = _string_features(columns)
        kwargs["column_names"] = columns
        if header:
            kwargs["header"] = 0
    docs = datasets.load_dataset("csv", data_files=files, split="train", **kwargs)
    if replace:
        docs = docs.map(lambda d: {c: mapping.get(d[c], d[c]) for c, mapping in replace.items()})
    return docs


@register_reader("csv")
def read_csv(files: list[str], columns: list[str] | None = None) -> datasets.Dataset:
    kwargs: dict[str, Any] = {"keep_default_na": False}
    if columns:
        kwargs["features"] = _string_features(columns)
    return datasets.load_dataset("csv", data_files=files, split="train", **kwargs)


@register_reader("jsonl")
@register_reader("json")
def read_json(files: list[str], field: str | None = None) -> datasets.Dataset:
    return datasets.load_dataset("json", data_files=files, split="train", field=field)


# Importing the modules registers the structured readers.
from . import conll, retrieval, squad  # noqa: E402,F401
