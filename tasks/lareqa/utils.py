"""Hub hooks for LAReQA: the Hugging Face copies become the columns the local ``lareqa`` reader writes.

``google-research-datasets/xquad_r`` (one config per language) and ``rajpurkar/squad`` have flat SQuAD rows
without sentence breaks; sentences are split with ``sentence_breaks`` and the multilingual pool is built
from all eleven XQuAD-R configs. Docs from the local reader already have the columns and pass through.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import datasets

from harness.readers.retrieval import candidate_text, lareqa_pool, sentence_breaks

XQUAD_R = "google-research-datasets/xquad_r"
LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")


def as_squad(rows: datasets.Dataset) -> dict[str, Any]:
    """Flat SQuAD rows back into SQuAD JSON: consecutive rows with one context form a paragraph."""
    paragraphs: list[dict[str, Any]] = []
    for row in rows:
        if not paragraphs or paragraphs[-1]["context"] != row["context"]:
            paragraphs.append({"context": row["context"], "qas": []})
        answers = [
            {"text": t, "answer_start": s} for t, s in zip(row["answers"]["text"], row["answers"]["answer_start"])
        ]
        paragraphs[-1]["qas"].append({"id": row["id"], "question": row["question"], "answers": answers})
    return {"data": [{"paragraphs": paragraphs}]}


@cache
def hub_pool_and_relevant() -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """The pool of all XQuAD-R languages and each question id's relevant candidates."""
    squad = {lang: as_squad(datasets.load_dataset(XQUAD_R, lang, split="validation")) for lang in LANGUAGES}
    _, pool, relevant = lareqa_pool(squad)
    return pool, relevant


def from_hub(docs: datasets.Dataset) -> datasets.Dataset:
    """Questions with their relevant candidate ids (XQuAD-R), or training pairs (SQuAD)."""
    if "relevant" in docs.column_names or "candidate" in docs.column_names:
        return docs
    relevant = hub_pool_and_relevant()[1] if "title" not in docs.column_names else {}  # SQuAD rows have a title
    rows = []
    for row in docs:
        start = row["answers"]["answer_start"][0]
        sentence = next((row["context"][s:e] for s, e in sentence_breaks(row["context"]) if s <= start < e), None)
        if sentence:
            rows.append(
                {
                    "id": row["id"],
                    "question": row["question"],
                    "candidate": candidate_text(sentence, row["context"]),
                    "relevant": relevant.get(row["id"], []),
                }
            )
    return datasets.Dataset.from_list(rows)


def hub_pool(docs: datasets.Dataset) -> datasets.Dataset:
    """The multilingual candidate pool (whatever language's config ``docs`` came from)."""
    if "candidate" in docs.column_names:
        return docs
    return datasets.Dataset.from_list(hub_pool_and_relevant()[0])
