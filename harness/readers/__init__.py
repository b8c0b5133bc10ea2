"""Local-file readers, registered by ``data_format`` name.

A reader takes the list of files of one split (and the spec's ``data_kwargs``)
and returns a ``datasets.Dataset`` of docs. Plain formats go through HF
``datasets`` builders (cached by its fingerprints); structured ones (SQuAD
JSON, CoNLL, parallel text) have their own module here.
"""

from __future__ import annotations

from typing import Any

import datasets

from ..errors import DataError
from . import conll, retrieval, squad  # noqa: F401  (each registers its readers)
from .base import READERS, Reader, register_reader  # noqa: F401  (the registry is part of the package's interface)


def _string_features(columns: list[str]) -> datasets.Features:
    return datasets.Features({c: datasets.Value("string") for c in columns})


@register_reader("tsv")
def read_tsv(
    files: list[str],
    columns: list[str] | None = None,
    header: bool | str = False,
    rename: dict[str, str] | None = None,
    replace: dict[str, dict[str, str]] | None = None,
) -> datasets.Dataset:
    """Tab-separated text with no quoting (XTREME's XNLI/PAWS-X files contain bare quotes).

    ``header: auto`` reads a file whose first line names all ``columns`` (PAWS-X's labelled test files:
    ``id  sentence1  sentence2  label``) by those names, extra columns dropped, and any other file as
    headerless ``columns`` (XTREME's preprocessed ``dev-<lang>.tsv``). ``rename`` renames columns and
    ``replace`` maps a column's values: XNLI-MT's header says ``hypo`` and its labels ``contradictory``, which
    XTREME's preprocessing turns into ``contradiction``.
    """
    docs = _read_tsv(files, columns, header)
    if rename:
        docs = docs.rename_columns(rename)
    if replace:
        docs = docs.map(lambda d: {c: mapping.get(d[c], d[c]) for c, mapping in replace.items()})
    return docs


def _read_tsv(files: list[str], columns: list[str] | None, header: bool | str) -> datasets.Dataset:
    if header == "auto" and columns:
        parts = [_read_tsv([f], columns, header=set(columns) <= set(_first_row(f))) for f in files]
        return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
    kwargs: dict[str, Any] = {"delimiter": "\t", "quoting": 3, "keep_default_na": False}
    if columns and header:
        kwargs["header"] = 0
        kwargs["features"] = _string_features(_first_row(files[0]))
        return datasets.load_dataset("csv", data_files=files, split="train", **kwargs).select_columns(columns)
    if columns:
        _check_columns(files, len(columns), columns, bool(header))
        kwargs["features"] = _string_features(columns)
        kwargs["column_names"] = columns
    return datasets.load_dataset("csv", data_files=files, split="train", **kwargs)


def _first_row(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return f.readline().rstrip("\r\n").split("\t")


def _check_columns(files: list[str], count: int, columns: list[str], header: bool) -> None:
    """A line with fewer tabs than columns would be read with empty trailing fields (a label ''): name it instead."""
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, start=1):
                line = line.rstrip("\r\n")
                if line and line.count("\t") < count - 1 and not (header and number == 1):
                    raise DataError(
                        f"{path}, line {number}: {line.count(chr(9)) + 1} tab-separated field(s), expected {count} "
                        f"({', '.join(columns)}). Fix or remove the line."
                    )


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
