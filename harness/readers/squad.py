"""SQuAD-format JSON: SQuAD v1.1/v2.0, XQuAD, MLQA, TyDiQA-GoldP.

The files nest questions in ``data[].paragraphs[].qas[]``; the reader flattens
them into one doc per question with the columns the hub copies of these
datasets have (``id``, ``title``, ``context``, ``question``,
``answers: {text: [...], answer_start: [...]}``), so one spec reads either
source. SQuAD v2's unanswerable questions get empty answer lists, and so do the
questions of files whose answers XTREME's download stripped (with a warning:
such a split can be predicted, not scored).
"""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path
from typing import Any

import datasets

from ..errors import DataError
from .base import register_reader

FEATURES = datasets.Features(
    {
        "id": datasets.Value("string"),
        "title": datasets.Value("string"),
        "context": datasets.Value("string"),
        "question": datasets.Value("string"),
        "answers": {
            "text": datasets.Sequence(datasets.Value("string")),
            "answer_start": datasets.Sequence(datasets.Value("int32")),
        },
    }
)

#: what google-research/xtreme's download leaves of every answer of an evaluation file
_STRIPPED = {"text": [""], "answer_start": [0]}


def questions(path: str) -> list[dict[str, Any]]:
    """The questions of one SQuAD-format file, one row per question, in file order."""
    try:
        articles = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path} is not SQuAD-format JSON (an object whose 'data' lists articles): {exc}") from None
    rows = []
    for article in articles:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = [] if qa.get("is_impossible") else qa.get("answers", [])
                rows.append(
                    {
                        "id": str(qa["id"]),
                        "title": article.get("title", ""),
                        "context": paragraph["context"],
                        "question": qa["question"],
                        "answers": {
                            "text": [a["text"] for a in answers],
                            "answer_start": [int(a["answer_start"]) for a in answers],
                        },
                    }
                )
    if rows and all(r["answers"] == _STRIPPED for r in rows):
        _warn_unlabelled(str(Path(path).parent), Path(path).name)
        for r in rows:
            r["answers"] = {"text": [], "answer_start": []}
    return rows


@cache
def _warn_unlabelled(folder: str, first: str) -> None:
    """Once per folder: a download's files are stripped alike, and nine identical warnings hide the tables."""
    logging.getLogger(__name__).warning(
        "%s: no gold answers in %s or other files of this folder (google-research/xtreme's download strips them), "
        "so their questions are predicted but not scored (NaN). To score, use the original files (deepmind/xquad, "
        "MLQA_V1.zip, the TyDiQA-GoldP dev tgz) or the hub (leave out --data-dir).",
        folder,
        first,
    )


@register_reader("squad")
def read_squad(files: list[str]) -> datasets.Dataset:
    rows = [row for path in files for row in questions(path)]
    return datasets.Dataset.from_list(rows, features=FEATURES)
