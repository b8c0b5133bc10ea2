"""Meaning guards: words noise must leave alone because they carry the label.

Dropping "not" from an NLI hypothesis turns a contradiction into an
entailment: the model is then scored against a label the text no longer has.
A condition's ``protect=`` option names what no perturbation may touch
(``negation``, ``number``, ``entity``, or ``none``), ``protect_list=PATH`` adds
a word list (one word or phrase per line); classification tasks protect
negation cues by default from word edits (drops, shuffles, rewrites).
Protected words are never edited, dropped, moved or rewritten; the noise record
counts how many were hit anyway (0 unless a guard is switched off or, for the
default guard, a character edit touched one).

The negation cues are the common sentential negators of each language (words
and clitics, not affixes: Turkish ``-me``/``-ma`` and Swahili ``ha-``/``si-``
verb forms are not caught).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import regex

from .perturbation import NoiseError
from .text import NO_SPACE_SCRIPTS

KINDS = ("negation", "number", "entity", "none")

NEGATIONS: dict[str, tuple[str, ...]] = {
    "ar": ("لا", "لم", "لن", "ليس", "ليست", "لست", "غير", "بدون", "أبدا"),
    "bg": ("не", "няма", "никога", "нищо", "никой", "без", "нито"),
    "de": ("nicht", "kein", "keine", "keinen", "keinem", "keiner", "keines", "nie", "niemals", "nichts", "niemand",
           "ohne", "weder"),
    "el": ("δεν", "μην", "όχι", "ποτέ", "τίποτα", "κανένας", "καμία", "κανένα", "χωρίς", "ούτε"),
    "en": ("not", "no", "never", "nothing", "nobody", "none", "neither", "nor", "without", "cannot", "n't", "nowhere"),
    "es": ("no", "nunca", "nada", "nadie", "ningún", "ninguna", "ninguno", "ni", "sin", "jamás", "tampoco"),
    "fr": ("ne", "n'", "pas", "jamais", "rien", "aucun", "aucune", "personne", "sans", "ni", "non"),
    "hi": ("नहीं", "न", "मत", "बिना", "कभी नहीं"),
    "ru": ("не", "нет", "никогда", "ничего", "никто", "ни", "без"),
    "sw": ("si", "sio", "siyo", "hapana", "bila", "hakuna", "wala"),
    "th": ("ไม่", "มิ", "ไม่เคย", "ไม่ได้", "ปราศจาก", "อย่า"),
    "tr": ("değil", "yok", "hiç", "asla", "hayır", "olmadan"),
    "ur": ("نہیں", "نہ", "مت", "بغیر", "کبھی نہیں"),
    "vi": ("không", "chẳng", "chưa", "đừng", "chớ", "chả"),
    "zh": ("不", "没", "没有", "无", "未", "别", "非", "莫", "勿", "不是"),
}  # fmt: skip
_NUMBER = r"\p{N}+(?:[.,]\p{N}+)*"
_NO_SPACE = "".join(rf"\p{{sc={s}}}" for s in NO_SPACE_SCRIPTS)


@dataclass(frozen=True)
class Guard:
    """What one condition protects in one language's text (entities: from tagging labels, elsewhere)."""

    kinds: tuple[str, ...]
    language: str
    word_list: str | None = None
    #: the default guard keeps words from being dropped or moved only; an explicit one from every edit
    words_only: bool = False

    @property
    def active(self) -> bool:
        return bool(self.kinds or self.word_list) and "none" not in self.kinds

    def guards(self, level: str) -> bool:
        """Whether this guard holds for perturbations of ``level`` ("char" or "word")."""
        return self.active and (level == "word" or not self.words_only)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """The protected character spans of ``text``, in order, not overlapping."""
        pattern = _pattern(self.kinds, self.language, self.word_list)
        return [] if pattern is None else [m.span() for m in pattern.finditer(text)]

    def tokens(self, text: str) -> Counter[str]:
        """The protected words of ``text``, counted (what a record compares before and after)."""
        return Counter(text[a:b] for a, b in self.spans(text))


def guard_for(kinds: tuple[str, ...] | None, word_list: str | None, language: str, task_type: str) -> Guard:
    """The guard of a condition: its ``protect=`` kinds, else negation cues for classification (kept from
    word edits: a typo in "not" leaves a negation, a drop does not)."""
    if kinds is None and word_list is None:
        return Guard(("negation",) if task_type == "classification" else (), language, words_only=True)
    return Guard(tuple(k for k in kinds or () if k != "entity"), language, word_list)


def check_kinds(kinds: tuple[str, ...], where: str) -> None:
    for kind in kinds:
        if kind not in KINDS:
            raise NoiseError(f"{where}: protect= takes {', '.join(KINDS)} (joined by /), not {kind!r}.")


@cache
def _pattern(kinds: tuple[str, ...], language: str, word_list: str | None) -> regex.Pattern[str] | None:
    if "none" in kinds:
        return None
    words: list[str] = list(NEGATIONS.get(language, ())) if "negation" in kinds else []
    if word_list:
        path = Path(word_list.replace("{lang}", language))
        if not path.is_file():
            raise NoiseError(f"protect_list={word_list}: no such file {path}; give a file with one word per line.")
        words += [w.strip() for w in path.read_text(encoding="utf-8").splitlines() if w.strip()]
    alternatives = [_word(w) for w in sorted(set(words), key=len, reverse=True)]
    if "number" in kinds:
        alternatives.append(_NUMBER)
    return regex.compile("|".join(alternatives), regex.IGNORECASE) if alternatives else None


def _word(word: str) -> str:
    """A cue as a whole word; in scripts without spaces as it is; a clitic (n't, n') at its edge."""
    body = regex.escape(word)
    if regex.match(rf"[{_NO_SPACE}]", word):
        return body
    before = "" if word.startswith("n'") else r"(?<!\w)"
    after = "" if word.endswith("'") else r"(?!\w)"
    return before + body + after
