"""Word-level perturbations: each edits word units (see ``text.py`` for zh/ja/th).

The rate is the probability that an eligible word is edited, so the expected
word error rate is about the rate (``shuffle`` swaps pairs: two edits each;
``split`` and ``merge`` change two words' worth of tokens). Words whose first
character is a combining mark (only possible after a control character) are
never moved or copied, so no cluster is ever glued to a neighbour.
"""

from __future__ import annotations

import unicodedata

from anyascii import anyascii

from .clusters import attaches, cluster_list, joins
from .dictionaries import Dictionary, load_dictionary
from .perturbation import NoiseError, Param, WordPerturbation, register
from .rng import Rng, picks
from .text import Words, is_no_space_unit, script_of

_PUNCT = {
    "Han": "，。、！？",
    "Hiragana": "、。！？",
    "Katakana": "、。！？",
    "Arabic": "،؛؟.",
    "Devanagari": "।,",
    "Common": ",.;:!?",
}


def _movable(word: str) -> bool:
    return not attaches(word[:1])


@register
class Drop(WordPerturbation):
    """A word is deleted with the space before it (never every word)."""

    name = "drop"

    def edit(self, words: Words, rng: Rng) -> Words:
        dropped = {i for i, _ in picks(rng, len(words.words), self.rate) if not words.keeps(i)}
        if not dropped:
            return words
        if len(dropped) == len(words.words):
            dropped.discard(max(dropped))
        keep = [i for i in range(len(words.words)) if i not in dropped]
        # each kept word keeps the gap before it; the first one takes over the text's leading gap
        gaps = [words.gaps[0], *(words.gaps[i] for i in keep[1:]), words.gaps[-1]]
        return words.like([words.words[i] for i in keep], gaps, [words.origin[i] for i in keep])


@register
class Repeat(WordPerturbation):
    """A word is typed twice."""

    name = "repeat"
    adds_words = True

    def edit(self, words: Words, rng: Rng) -> Words:
        chosen = {
            i for i, _ in picks(rng, len(words.words), self.rate) if _movable(words.words[i]) and not words.keeps(i)
        }
        if not chosen:
            return words
        out = words.like([], [words.gaps[0]], [])
        for i, word in enumerate(words.words):
            out.words.append(word)
            out.origin.append(words.origin[i])
            if i in chosen:
                out.gaps.append("" if is_no_space_unit(word) else " ")
                out.words.append(word)
                out.origin.append(words.origin[i])
            out.gaps.append(words.gaps[i + 1])
        return out


@register
class Shuffle(WordPerturbation):
    """Local shuffle: two neighbouring words trade places (rate: the share of words moved)."""

    # calibrated like ``swap``: picking with q = rate / (2 - rate) moves a share ``rate`` of the words

    name = "shuffle"

    def edit(self, words: Words, rng: Rng) -> Words:
        new, origin = list(words.words), list(words.origin)
        taken, changed = -1, False
        for i, _ in picks(rng, len(new), self.rate / (2 - self.rate)):
            if i <= taken or i + 1 >= len(new) or new[i] == new[i + 1] or words.keeps(i) or words.keeps(i + 1):
                continue
            if _movable(new[i]) and _movable(new[i + 1]):
                new[i], new[i + 1] = new[i + 1], new[i]
                origin[i], origin[i + 1] = origin[i + 1], origin[i]
                taken, changed = i + 1, True
        return words.like(new, list(words.gaps), origin) if changed else words


@register
class Split(WordPerturbation):
    """A space is typed inside a word (at a random cluster boundary)."""

    name = "split"
    adds_words = True

    def edit(self, words: Words, rng: Rng) -> Words:
        out = words.like([], [words.gaps[0]], [])
        changed = False
        chosen = dict(picks(rng, len(words.words), self.rate))
        for i, word in enumerate(words.words):
            units = cluster_list(word) if i in chosen and not words.keeps(i) else []
            if len(units) >= 2:
                cut = 1 + int(chosen[i] * (len(units) - 1))
                out.words += ["".join(units[:cut]), "".join(units[cut:])]
                out.gaps.append(" ")
                out.origin += [words.origin[i]] * 2
                changed = True
            else:
                out.words.append(word)
                out.origin.append(words.origin[i])
            out.gaps.append(words.gaps[i + 1])
        return out if changed else words


@register
class Merge(WordPerturbation):
    """The space between two words is deleted (rate: the share of spaces)."""

    name = "merge"
    adds_words = True  # two labelled words would become one

    def edit(self, words: Words, rng: Rng) -> Words:
        chosen = {
            i
            for i, _ in picks(rng, len(words.words), self.rate)
            if words.is_whitespace_gap(i) and _movable(words.words[i]) and not (words.keeps(i - 1) or words.keeps(i))
        }
        if not chosen:
            return words
        out = words.like([words.words[0]], [words.gaps[0]], [words.origin[0]])
        for i in range(1, len(words.words)):
            if i in chosen and not joins(out.words[-1], words.words[i]):  # a virama-final word + a consonant
                out.words[-1] += words.words[i]
            else:
                out.gaps.append(words.gaps[i])
                out.words.append(words.words[i])
                out.origin.append(words.origin[i])
        out.gaps.append(words.gaps[-1])
        return out


class WordSubstitution(WordPerturbation):
    """Replaces picked words one for one (labels stay put); ``variant`` says what a word becomes."""

    rewrites_words = True

    def edit(self, words: Words, rng: Rng) -> Words:
        new = list(words.words)
        changed = False
        for i, fraction in picks(rng, len(new), self.rate):
            if words.keeps(i):
                continue
            replacement = self.variant(new[i], fraction)
            if replacement and replacement != new[i]:
                new[i] = replacement
                changed = True
        return words.like(new, list(words.gaps), list(words.origin)) if changed else words

    def variant(self, word: str, fraction: float) -> str | None:
        raise NotImplementedError


@register
class Case(WordSubstitution):
    """A word's case changes (lower, UPPER or Title; scripts without case are left alone)."""

    name = "case"
    params = {"to": Param(str, "random", "random, lower, upper or title")}
    to: str
    _FORMS = ("lower", "upper", "title")

    def __init__(self, rate: float | None = None, language: str = "en", **params: object) -> None:
        super().__init__(rate, language, **params)
        if self.to not in ("random", *self._FORMS):
            raise NoiseError(f"case:to={self.to}: expected random, lower, upper or title.")

    def variant(self, word: str, fraction: float) -> str | None:
        if word.lower() == word.upper():
            return None
        forms = [getattr(word, f)() for f in (self._FORMS if self.to == "random" else (self.to,))]
        forms = [f for f in dict.fromkeys(forms) if f != word]
        return forms[int(fraction * len(forms))] if forms else None


@register
class Punct(WordSubstitution):
    """A word loses its trailing punctuation, or gains a punctuation mark of its script."""

    name = "punct"

    def variant(self, word: str, fraction: float) -> str | None:
        stripped = word.rstrip("".join(c for c in word if unicodedata.category(c).startswith("P")))
        if stripped != word:
            return stripped or None
        marks = _PUNCT.get(script_of(word[-1:]), _PUNCT["Common"])
        return word + marks[int(fraction * len(marks))]


@register
class Translit(WordSubstitution):
    """A word in a non-Latin script is romanised (anyascii: one maintained table for every script)."""

    name = "translit"
    default_rate = 1.0

    def variant(self, word: str, fraction: float) -> str | None:
        if not any(c.isalpha() and script_of(c) not in ("Latin", "Common") for c in word):
            return None
        return anyascii(word) or None


@register
class Codeswitch(WordPerturbation):
    """A word is replaced by a translation from a bilingual dictionary (MUSE format).

    ``dict`` is the path of the dictionary file for the text's language, with
    ``{lang}`` standing for the language code: ``dict=muse/{lang}-en.txt``. In
    scripts without spaces, characters are grouped by longest dictionary match.
    """

    name = "codeswitch"
    default_rate = 0.3
    rewrites_words = True
    params = {"dict": Param(str, None, "MUSE dictionary file (`source target` per line); {lang} = language code")}
    dict: str | None

    def __init__(self, rate: float | None = None, language: str = "en", **params: object) -> None:
        super().__init__(rate, language, **params)
        if not self.dict:
            raise NoiseError(
                "codeswitch needs a dictionary: codeswitch:0.3:dict=PATH, one MUSE file per language pair, "
                "with {lang} for the language code (e.g. dict=../shared/data/muse/{lang}-en.txt)."
            )
        self.dictionary: Dictionary = load_dictionary(self.dict.replace("{lang}", language), language)

    def edit(self, words: Words, rng: Rng) -> Words:
        groups = self.dictionary.group(words)
        out = words.like([], [words.gaps[0]], [])
        chosen = dict(picks(rng, len(groups), self.rate))
        changed = False
        for g, (start, end) in enumerate(groups):
            frozen = any(words.keeps(i) for i in range(start, end))
            translation = (
                self.dictionary.translate("".join(words.words[start:end]), chosen[g])
                if g in chosen and not frozen
                else None
            )
            if translation is None:
                for i in range(start, end):
                    out.words.append(words.words[i])
                    out.origin.append(words.origin[i])
                    out.gaps.append(words.gaps[i + 1])
            else:
                out.words.append(translation)
                out.origin.append(words.origin[start])
                out.gaps.append(words.gaps[end])
                changed = True
        return out if changed else words
