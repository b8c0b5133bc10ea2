"""Published numbers a run can be compared with, each with its source, shown only where a row matches their
setting: the same task and metric, the test split, XLM-R Large fully fine-tuned on English with no
intermediate task, clean inputs, and the very language set the average was taken over.

Only numbers checked against a primary table are listed: XLM-R Large's zero-shot XTREME test scores (Hu et
al. 2020) as google-research/multilingual-t5's README reproduces them (its Results table: accuracy for
XNLI and PAWS-X, F1 otherwise). XTREME-R's own table (Ruder et al. 2021) and Phang et al.'s per-intermediate
numbers are left out until they can be checked against the papers; X-STILTs' leaderboard entry picks the
best intermediate task per target task, which no single row of a run reproduces.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

XTREME_SOURCE = ("XLM-R Large, XTREME zero-shot test (Hu et al. 2020), as in google-research/multilingual-t5 "
                 "README.md, Results table")  # fmt: skip


@dataclass(frozen=True)
class Reference:
    family: str
    metric: str
    value: float
    languages: frozenset[str]
    source: str = XTREME_SOURCE
    model: str = "xlm-roberta-large"
    split: str = "test"


def _langs(text: str) -> frozenset[str]:
    return frozenset(text.split(","))


#: XTREME's language sets, as google-research/xtreme's scripts list them
REFERENCES = (
    Reference("xnli", "acc", 79.2, _langs("ar,bg,de,el,en,es,fr,hi,ru,sw,th,tr,ur,vi,zh")),
    Reference("pawsx", "acc", 86.4, _langs("de,en,es,fr,ja,ko,zh")),
    Reference(
        "panx",
        "f1",
        65.4,
        _langs(
            "ar,he,vi,id,jv,ms,tl,eu,ml,ta,te,af,nl,en,de,el,bn,hi,mr,ur,fa,fr,it,pt,es,"
            "bg,ru,ja,ka,ko,th,sw,yo,my,zh,kk,tr,et,fi,hu"
        ),
    ),  # fmt: skip
    Reference("xquad", "f1", 76.6, _langs("ar,de,el,en,es,hi,ru,th,tr,vi,zh")),
    Reference("mlqa", "f1", 71.6, _langs("en,es,de,ar,hi,vi,zh")),
    Reference("tydiqa", "f1", 65.1, _langs("ar,bn,en,fi,id,ko,ru,sw,te")),
)


def reference_for(family: str, metric: str, records: Iterable[dict[str, Any]]) -> Reference | None:
    """The published number a row of ``records`` (one family, one setting, all its languages) reproduces."""
    records = list(records)
    for ref in REFERENCES:
        if (ref.family, ref.metric) != (family, metric) or not records:
            continue
        if {r["language"] for r in records} != ref.languages:
            continue
        if all(str(r.get("model", "")).rstrip("/").endswith(ref.model) and r.get("split") == ref.split
               and r.get("method") == "full" and r.get("intermediate") == "none" and r.get("condition") == "clean"
               and not r.get("train_noise") for r in records):  # fmt: skip
            return ref
    return None
