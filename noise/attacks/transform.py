"""Transformations: the candidate replacements of one word, drawn from the perturbation catalogue.

Character recipes perturb the word alone with a catalogue perturbation (the
language's keyboard for ``typo``, look-alikes for ``homoglyph``, ...) at a rate
of about one edit per word, each draw from its own generator keyed by (seed,
recipe, task, language, doc, field, word, operation, draw), so candidates
never depend on the model, the order or the batch. A draw is kept when it is
1 to ``edits`` grapheme-cluster edits away from the word (optimal string
alignment: a swap is one edit), as DeepWordBug's one operation per word.
Dictionary recipes offer the word's MUSE translations.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import regex

from .. import chars, words  # noqa: F401  (registers the catalogue)
from ..dictionaries import load_dictionary
from ..perturbation import Perturbation, get_perturbation
from ..rng import RngKeys

#: draws tried per operation for one candidate (a draw at rate 1/n edits nothing about a third of the time)
DRAWS = 8
#: translations offered per word
TRANSLATIONS = 8

_CLUSTER = regex.compile(r"\X")


def clusters(word: str) -> list[str]:
    return _CLUSTER.findall(word)


def edit_distance(a: list[str], b: list[str]) -> int:
    """Optimal string alignment distance (Levenshtein plus adjacent transpositions) between cluster lists."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


class CharEdits:
    """Up to ``per_op`` candidates per operation, each 1 to ``edits`` cluster edits from the word."""

    def __init__(self, ops: tuple[str, ...], language: str, edits: int, per_op: int, keys: RngKeys) -> None:
        self.ops, self.language, self.edits, self.per_op, self.keys = ops, language, edits, per_op, keys
        for op in ops:
            self._perturbation(op, 1.0)  # a language the catalogue cannot serve fails here

    @lru_cache(maxsize=4096)  # noqa: B019  (one instance per attacked cell; the cache dies with it)
    def _perturbation(self, op: str, rate: float) -> Perturbation:
        return get_perturbation(op)(rate, self.language)

    def candidates(self, word: str, doc_id: str, where: str) -> list[str]:
        units = clusters(word)
        letters = sum(1 for u in units if u[:1].isalpha())
        if not letters:
            return []
        rate = min(1.0, self.edits / letters)
        out: dict[str, None] = {}
        for op in self.ops:
            perturbation, found = self._perturbation(op, rate), 0
            for draw in range(DRAWS):
                new = perturbation.perturb_token(word, self.keys.rng(doc_id, f"{where}/{op}/{draw}"))
                if new not in out and 1 <= edit_distance(units, clusters(new)) <= self.edits:
                    out[new] = None
                    found += 1
                    if found == self.per_op:
                        break
        return list(out)


class Translations:
    """A word's translations from a MUSE dictionary (punctuation around it kept, as ``codeswitch`` does)."""

    def __init__(self, path: Path, language: str) -> None:
        self.dictionary = load_dictionary(path, language)

    def candidates(self, word: str, doc_id: str, where: str) -> list[str]:
        options = (self.dictionary.translate(word, k / TRANSLATIONS) for k in range(TRANSLATIONS))
        return [t for t in dict.fromkeys(options) if t and t != word and not any(c.isspace() for c in t)]
