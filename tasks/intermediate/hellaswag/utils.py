"""HellaSwag contexts without WikiHow's bracketed artefacts (" [title]", "[header]"), as lm-eval cleans them."""

from __future__ import annotations

import re

import datasets


def _clean(text: str) -> str:
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


def docs(dataset: datasets.Dataset) -> datasets.Dataset:
    return dataset.map(
        lambda d: {
            "query": _clean(f"{d['activity_label']}: {d['ctx_a']} {d['ctx_b'].capitalize()}"),
            "endings": [_clean(e) for e in d["endings"]],
        }
    )
