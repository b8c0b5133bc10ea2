"""The units perturbations work on: grapheme clusters, words, scripts.

Every character operation works on extended grapheme clusters (Unicode UAX #29,
the ``regex`` module's ``\\X``): a Devanagari conjunct with its vowel sign, a Thai
consonant with its vowel and tone marks, a letter with combining accents, a flag
or an emoji sequence is one unit, so no operation can split it or leave a mark
without its base. Rates and error rates count these units, which is what makes
``typo:0.1`` mean the same in Hindi as in English.

Words are whitespace-delimited, except in scripts written without spaces (Han,
kana, Thai, Lao, Khmer, Myanmar): there Chinese, Japanese and Thai text is
segmented into words by its language's segmenter (``segment.py``), so that a
word rate means the same share of words as in English; other languages' runs of
such scripts count one word per grapheme cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import regex

from .clusters import joins
from .segment import segments, split_run

#: scripts written without spaces between words
NO_SPACE_SCRIPTS = ("Han", "Hiragana", "Katakana", "Thai", "Lao", "Khmer", "Myanmar")
_NO_SPACE = "".join(rf"\p{{sc={s}}}" for s in NO_SPACE_SCRIPTS)
# Text as consecutive tokens, each whole clusters: a gap (clusters starting with whitespace), a
# no-space-script cluster, or a word. Matching every cluster keeps the scan on cluster boundaries.
_TOKEN = regex.compile(rf"((?:(?=\s)\X)+)|(?=[{_NO_SPACE}])\X|(?:(?![\s{_NO_SPACE}])\X)+")
_WHITESPACE = regex.compile(r"\s+")

#: scripts a cluster can be assigned to (others count as "Common": never substituted or inserted)
SCRIPTS = (
    "Latin",
    "Cyrillic",
    "Greek",
    "Armenian",
    "Georgian",
    "Arabic",
    "Hebrew",
    "Syriac",
    "Thaana",
    "Devanagari",
    "Bengali",
    "Gurmukhi",
    "Gujarati",
    "Oriya",
    "Tamil",
    "Telugu",
    "Kannada",
    "Malayalam",
    "Sinhala",
    "Thai",
    "Lao",
    "Tibetan",
    "Myanmar",
    "Khmer",
    "Ethiopic",
    "Hangul",
    "Han",
    "Hiragana",
    "Katakana",
    "Mongolian",
    "Tifinagh",
    "Cherokee",
)
_SCRIPT = regex.compile("|".join(rf"(?P<{s}>\p{{sc={s}}})" for s in SCRIPTS))


@lru_cache(maxsize=65536)
def script_of(char: str) -> str:
    """The script of a character (of a cluster's first character), or "Common"."""
    m = _SCRIPT.match(char[:1])
    return (m and m.lastgroup) or "Common"


def is_letter_cluster(cluster: str) -> bool:
    """A cluster that starts with a letter: what character edits act on (not digits, punctuation, space)."""
    return cluster[:1].isalpha()


def is_no_space_unit(word: str) -> bool:
    return script_of(word[:1]) in NO_SPACE_SCRIPTS


def word_list(text: str, language: str = "") -> list[str]:
    """The word units of ``text`` (whitespace tokens; in scripts without spaces the segmenter's words for the
    languages it knows, else single clusters)."""
    if segments(language):
        return Words.of_text(text, language).words
    return [m.group() for m in _TOKEN.finditer(text) if m.group(1) is None]


@dataclass
class Words:
    """A text as word units and the gaps around them, with where each word came from.

    ``gaps[i]`` precedes ``words[i]`` and ``gaps[-1]`` trails the last word, so
    ``text()`` gives back the exact input. ``origin[i]`` is the input position of
    word ``i``: a tagging task's labels follow their words through drops and
    shuffles by it. ``frozen`` holds the input positions of words no word edit
    may drop, move, copy, split, merge or rewrite (a gold entity's tokens, a
    protected negation): see ``keeps``.
    """

    words: list[str]
    gaps: list[str]
    origin: list[int]
    frozen: frozenset[int] = frozenset()

    def keeps(self, i: int) -> bool:
        """Whether word ``i`` is frozen: word edits leave it where and as it is."""
        return self.origin[i] in self.frozen

    def like(self, words: list[str], gaps: list[str], origin: list[int]) -> Words:
        """New words from these (same frozen positions)."""
        return Words(words, gaps, origin, self.frozen)

    @classmethod
    def of_text(cls, text: str, language: str = "") -> Words:
        """The words of ``text``; runs without spaces segmented into words when ``language`` has a segmenter."""
        words, gaps, gap = [], [], ""
        for m in _TOKEN.finditer(text):
            if m.group(1) is not None:
                gap = m.group()
            else:
                gaps.append(gap)
                words.append(m.group())
                gap = ""
        gaps.append(gap)
        if segments(language) and any(is_no_space_unit(w) for w in words):
            words, gaps = _segment_runs(language, words, gaps)
        return cls(words, gaps, list(range(len(words))))

    @classmethod
    def of_tokens(
        cls, tokens: list[str], origin: list[int] | None = None, frozen: frozenset[int] = frozenset()
    ) -> Words:
        gaps = ["", *[" "] * (len(tokens) - 1), ""] if tokens else [""]
        return cls(list(tokens), gaps, list(range(len(tokens))) if origin is None else list(origin), frozen)

    def covering(self, spans: list[tuple[int, int]]) -> frozenset[int]:
        """The words (their origins) that overlap any of the character ``spans`` of ``text()``."""
        out, at, k = set(), len(self.gaps[0]), 0
        for i, word in enumerate(self.words):
            end = at + len(word)
            while k < len(spans) and spans[k][1] <= at:
                k += 1
            if k < len(spans) and spans[k][0] < end:
                out.add(self.origin[i])
            at = end + len(self.gaps[i + 1])
        return frozenset(out)

    def text(self) -> str:
        parts = [self.gaps[0]]
        for word, gap in zip(self.words, self.gaps[1:]):
            parts += (word, gap)
        return "".join(parts)

    def intact(self) -> bool:
        """Whether joining the parts keeps every grapheme cluster as it was in the parts."""
        parts = [p for pair in zip(self.gaps, [*self.words, ""]) for p in pair if p]
        return all(not joins(a, b) for a, b in zip(parts, parts[1:]))

    def is_whitespace_gap(self, i: int) -> bool:
        """Whether gap ``i`` (between words i-1 and i) is non-empty whitespace."""
        return 0 < i < len(self.words) and _WHITESPACE.fullmatch(self.gaps[i]) is not None


def _segment_runs(language: str, words: list[str], gaps: list[str]) -> tuple[list[str], list[str]]:
    """Words and gaps with each run of no-space clusters (no gap between them) replaced by its words."""
    out_words: list[str] = []
    out_gaps: list[str] = []
    i = 0
    while i < len(words):
        j = i + 1
        if is_no_space_unit(words[i]):
            while j < len(words) and not gaps[j] and is_no_space_unit(words[j]):
                j += 1
            pieces = split_run(language, "".join(words[i:j]))
        else:
            pieces = (words[i],)
        out_gaps += [gaps[i], *[""] * (len(pieces) - 1)]
        out_words += pieces
        i = j
    out_gaps.append(gaps[-1])
    return out_words, out_gaps
