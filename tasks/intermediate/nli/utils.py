"""Normalise NLI sources to one doc schema: premise, hypothesis, label (a label name or index).

The hub copies (nyu-mll/glue, stanfordnlp/snli, facebook/anli) and the original
downloads (GLUE TSV, SNLI JSONL, ANLI JSONL) name columns differently; every
NLI spec here reads ``premise``/``hypothesis``/``label`` after these hooks.
Pairs without a gold label (SNLI's ``-`` / ``-1``) are dropped, as everyone does.
"""

from __future__ import annotations

import datasets

ANLI_LABELS = {"e": "entailment", "n": "neutral", "c": "contradiction"}


def _rename(docs: datasets.Dataset, mapping: dict[str, str]) -> datasets.Dataset:
    present = {old: new for old, new in mapping.items() if old in docs.column_names and new not in docs.column_names}
    return docs.rename_columns(present) if present else docs


def glue_nli(docs: datasets.Dataset) -> datasets.Dataset:
    """GLUE/SNLI downloads (sentence1, sentence2, gold_label) or hub copies (premise, hypothesis, label)."""
    docs = _rename(docs, {"sentence1": "premise", "sentence2": "hypothesis", "gold_label": "label"})
    return docs.filter(lambda d: str(d["label"]) not in ("-", "-1", ""))


def anli(docs: datasets.Dataset) -> datasets.Dataset:
    """ANLI's release files (context, label e/n/c) or the hub copy (premise, label 0/1/2)."""
    docs = _rename(docs, {"context": "premise"})
    return docs.map(lambda d: {"label": ANLI_LABELS.get(str(d["label"]), d["label"])})
