"""Character-level perturbations: each edits single grapheme clusters.

The rate is the probability that an eligible cluster is edited. Eligible are
*letter clusters* (a cluster starting with a letter: not digits, punctuation or
spaces); ``typo`` needs a keyboard neighbour, ``homoglyph`` a look-alike and
``diacritics`` an optional mark as well. So the expected character error rate
(CER, in clusters) on text made of eligible clusters is the rate for every
perturbation here (``swap`` swaps pairs, each costing two edits).
"""

from __future__ import annotations

from .clusters import joins
from .glyphs import homoglyph_table, strip_diacritics
from .keyboards import LAYOUTS, Keyboard, letters_for
from .orthography import kind_of
from .perturbation import (
    CharPerturbation,
    NoiseError,
    OptionPerturbation,
    Param,
    count_letters,
    keeps_clusters,
    pick_other,
    register,
    splice,
)
from .readings import INPUT_METHODS
from .rng import select
from .text import is_letter_cluster, script_of


def _match_case(new: str, old: str) -> str:
    if old[:1].isupper() and len(new.upper()) == len(new):
        return new.upper()
    return new


@register
class Typo(OptionPerturbation):
    """Keyboard typo: a cluster becomes one typed with a neighbouring key of the language's layout."""

    name = "typo"
    params = {
        "layout": Param(str, None, "layout to use instead of the text's language's (a language code, e.g. de)"),
        "strict": Param(bool, False, "only the language's own layout: no script fallback, error if it has none"),
    }
    layout: str | None
    strict: bool

    def __init__(self, rate: float | None = None, language: str = "en", **params: object) -> None:
        super().__init__(rate, language, **params)
        wanted = self.layout or language
        if self.layout is not None and self.layout not in LAYOUTS:
            raise NoiseError(f"typo: no keyboard layout {self.layout!r}; layouts: {', '.join(sorted(LAYOUTS))}.")
        if self.strict and wanted not in LAYOUTS and wanted not in INPUT_METHODS:
            raise NoiseError(
                f"typo:strict: language {language!r} has no keyboard layout of its own (layouts: "
                f"{', '.join(sorted(LAYOUTS))}). Drop :strict to use the fallback (the layout of the text's "
                f"script, else a random letter of that script), or name one with :layout=xx."
            )
        self.keyboard = Keyboard(language, self.layout, self.strict)

    def options(self, unit: str) -> tuple[str, ...]:
        return self.keyboard.variants(unit)


@register
class Substitute(CharPerturbation):
    """A letter cluster becomes a random letter of the same script and kind (a consonant for a consonant)."""

    name = "substitute"

    def replace(self, unit: str, fraction: float) -> str | None:
        if not is_letter_cluster(unit):
            return None
        new = pick_other(letters_for(self.language, script_of(unit), kind_of(unit[0])), fraction, unit)
        return None if new is None else _match_case(new, unit)


@register
class Insert(CharPerturbation):
    """A random letter of the same script is typed after a letter cluster (one that may start a syllable)."""

    name = "insert"

    def replace(self, unit: str, fraction: float) -> str | None:
        if not is_letter_cluster(unit):
            return None
        letters = letters_for(self.language, script_of(unit), "start")
        return unit + letters[int(fraction * len(letters))] if letters else None


@register
class Delete(CharPerturbation):
    """A letter cluster is deleted (never every letter of the text or token)."""

    name = "delete"

    def apply(self, units: list[str] | str, check: bool, drawn: bytes) -> str:
        edits: list[tuple[int, str]] = []
        for i, _ in select(drawn, self.rate):
            if is_letter_cluster(units[i]) and (not check or keeps_clusters(units, i, "", edits)):
                edits.append((i, ""))
        if edits and len(edits) == count_letters(units):
            edits.pop()
        return splice(units, edits)


@register
class Swap(CharPerturbation):
    """Two adjacent letter clusters trade places (rate: the share of clusters moved)."""

    # Each picked cluster swaps with the next unless a swap already took it: picking with
    # q = rate / (2 - rate) moves a share 2q / (1 + q) = rate of the clusters.

    name = "swap"

    def apply(self, units: list[str] | str, check: bool, drawn: bytes) -> str:
        edits: list[tuple[int, str]] = []
        taken = -1
        for i, _ in select(drawn, self.rate / (2 - self.rate)):
            if i <= taken or i + 1 >= len(units):
                continue
            a, b = units[i], units[i + 1]
            if (
                a != b
                and is_letter_cluster(a)
                and is_letter_cluster(b)
                and (not check or (not joins(b, a) and keeps_clusters(units, i, b + a, edits, width=2)))
            ):
                edits += [(i, b), (i + 1, a)]
                taken = i + 1
        return splice(units, edits)


@register
class Diacritics(CharPerturbation):
    """Optional diacritics are stripped (accents, Arabic harakat, Hebrew points, Indic nukta)."""

    name = "diacritics"
    default_rate = 1.0

    def replace(self, unit: str, fraction: float) -> str | None:
        return strip_diacritics(unit) if is_letter_cluster(unit) else None


@register
class Homoglyph(OptionPerturbation):
    """A character becomes a visual look-alike, VIPER-style (Cyrillic а for Latin a, é for e)."""

    name = "homoglyph"

    def options(self, unit: str) -> tuple[str, ...]:
        return homoglyph_table().get(unit, ())
