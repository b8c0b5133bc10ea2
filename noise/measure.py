"""The noise actually applied: character and word error rates against the clean text.

CER counts grapheme clusters, WER word units (``text.py``: segmented words in
Chinese, Japanese and Thai, given the ``language``), both as Levenshtein
distance over the clean length (rapidfuzz computes it), summed over every
noised field of every example of a cell: a corpus rate in percent, as
speech-recognition scoring does. Every result record of a noisy cell holds
them, so a table can say how much noise a language really got (``typo`` on text
with few letters edits little).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rapidfuzz.distance import Levenshtein

from ..tables import Table
from .clusters import cluster_list
from .guards import Guard
from .text import is_no_space_unit, word_list


def _texts(example: dict[str, Any], fields: list[str], task_type: str) -> list[str]:
    out = []
    for name in fields:
        value = example.get(name)
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out += [_sentence(value)] if task_type == "tagging" else [str(v) for v in value]
    return out


def _sentence(tokens: list[str]) -> str:
    """Tagging tokens as text: joined by spaces, except between tokens of scripts without spaces (so a
    segmenter sees PAN-X's Chinese characters as the sentence they were)."""
    parts: list[str] = []
    for k, token in enumerate(tokens):
        if k and not (is_no_space_unit(token) and is_no_space_unit(tokens[k - 1])):
            parts.append(" ")
        parts.append(token)
    return "".join(parts)


def error_rates(
    clean: list[dict[str, Any]],
    noisy: list[dict[str, Any]],
    fields: list[str],
    task_type: str,
    guard: Guard | None = None,
    language: str = "",
) -> dict[str, Any]:
    """CER and WER (percent), the share of noised texts that changed, and the clean lengths.

    Tagging adds how many gold labels the noise touched (``labels_touched``, in
    percent of ``labels``): labels whose word was edited or dropped. Moving a
    word with its label does not count. With an active ``guard``: how many
    protected words the clean texts hold (``protected``) and the share of them
    the noise changed or removed (``protected_hit``, percent).
    """
    char_edits = chars = word_edits = words = changed = texts = protected = hit = 0
    for before, after in zip(clean, noisy):
        for a, b in zip(_texts(before, fields, task_type), _texts(after, fields, task_type)):
            texts += 1
            if guard is not None and guard.active:
                cues = guard.tokens(a)
                protected += cues.total()
                hit += (cues - guard.tokens(b)).total() if a != b else 0
            if a == b:
                chars += len(cluster_list(a))
                words += len(word_list(a, language))
                continue
            changed += 1
            ca, wa = cluster_list(a), word_list(a, language)
            chars += len(ca)
            words += len(wa)
            char_edits += Levenshtein.distance(ca, cluster_list(b))
            word_edits += Levenshtein.distance(wa, word_list(b, language))
    out = {
        "cer": 100 * char_edits / chars if chars else 0.0,
        "wer": 100 * word_edits / words if words else 0.0,
        "changed": 100 * changed / texts if texts else 0.0,
        "clusters": chars,
        "words": words,
    }
    if guard is not None and guard.active:
        out.update(protected=protected, protected_hit=100 * hit / protected if protected else 0.0)
    if task_type == "tagging" and "tokens" in fields:
        labels = sum(len(e["target"]) for e in clean)
        touched = sum(
            (Counter(zip(c["tokens"], c["target"])) - Counter(zip(n["tokens"], n["target"]))).total()
            for c, n in zip(clean, noisy)
        )
        out.update(labels=labels, labels_touched=100 * touched / labels if labels else 0.0)
    return out


def stats_table(records: list[dict[str, Any]]) -> Table | None:
    """Applied CER and WER (and gold labels touched, for tagging) per task, condition and language (None when no
    record is noisy)."""
    noisy = [r for r in records if r.get("noise")]
    if not noisy:
        return None
    languages = sorted({r["language"] for r in noisy}, key=lambda lang: (lang != "en", lang))
    rows: dict[tuple[str, str, str], dict[str, float]] = {}
    skipped: set[str] = set()
    for r in noisy:
        for measure in ("cer", "wer", "labels_touched", "protected_hit"):
            if measure in r["noise"]:
                key = (r["family"], r["condition"], measure.upper().replace("_", " "))
                rows.setdefault(key, {})[r["language"]] = r["noise"][measure]
        skipped.update(f"{name} on {r['family']}" for name in r["noise"].get("skipped", []))
    table = Table(
        "Applied noise (% of grapheme clusters / words / gold labels / protected words)",
        ["task", "condition", "measure", "avg", *languages],
        label_columns=3,
    )
    for (family, condition, measure), by_lang in rows.items():
        values = [by_lang[lang] for lang in languages if lang in by_lang]
        table.rows.append(
            [family, condition, measure, sum(values) / len(values), *(by_lang.get(lang) for lang in languages)]
        )
    if skipped:
        table.caption = f"Not applied (adds words; tagging keeps one label per word): {', '.join(sorted(skipped))}."
    return table
