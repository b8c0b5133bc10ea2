"""The perturbation API (HELM's ``Perturbation``, made script- and structure-aware).

A perturbation is a small class with a ``name``, typed ``params`` and one method,
``perturb(text, rng)``, that perturbs one text with a given generator (``rng.Rng``;
a ``random.Random`` will do). Instances are bound to a language (its keyboard,
its dictionary), so every language-dependent check happens when a noise
condition is set up, before any training. The rate counts *eligible units* of
the perturbation's level: grapheme clusters for ``char`` perturbations, words
for ``word`` ones (see ``text.py``).

Tagging needs one label per word: character edits never type a space or empty
a token, and word-level perturbations edit the token list through ``Words``,
whose ``origin`` carries each word's label; perturbations that add words
(``adds_words``) are skipped there (``spec.Chain.perturb_sentences``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import NoiseError
from ..plugins import Registry
from . import fast
from .clusters import is_simple, join, segment
from .orthography import fits
from .rng import Rng, select
from .text import Words, is_letter_cluster


@dataclass(frozen=True)
class Param:
    """One parameter of a perturbation, as written after its name: ``typo:0.1:layout=de``."""

    kind: type
    default: Any
    help: str

    def convert(self, value: str, where: str) -> Any:
        if self.kind is bool:
            lowered = value.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise NoiseError(f"{where}: expected true or false, got {value!r}.")
        if self.kind is float:
            try:
                return float(value)
            except ValueError:
                raise NoiseError(f"{where}: {value!r} is not a number.") from None
        return value


#: the perturbations ``--noise`` names; a plugin adds one with ``@register`` (``harness.noise.register``)
REGISTRY: Registry[type[Perturbation]] = Registry(
    "perturbation", NoiseError, listing="`harness noise ls` lists their parameters", by_path=False
)


def register(cls: type[Perturbation]) -> type[Perturbation]:
    REGISTRY.add(cls.name, cls)
    return cls


def get_perturbation(name: str) -> type[Perturbation]:
    return REGISTRY.get(name)


class Perturbation:
    """One kind of noise, bound to a language."""

    name: ClassVar[str]
    #: the unit the rate counts: "char" (grapheme cluster) or "word"
    level: ClassVar[str]
    default_rate: ClassVar[float] = 0.1
    params: ClassVar[dict[str, Param]] = {}
    #: adds words (or splits one): never applied to tagging, which keeps one label per word
    adds_words: ClassVar[bool] = False

    def __init__(self, rate: float | None = None, language: str = "en", **params: Any) -> None:
        self.rate = self.default_rate if rate is None else float(rate)
        if not 0 <= self.rate <= 1:
            raise NoiseError(f"{self.name}: rate {self.rate} must be between 0 and 1.")
        self.language = language
        for key in params:
            if key not in self.params:
                raise NoiseError(f"{self.name} has no parameter {key!r}; it has: {', '.join(self.params) or 'none'}.")
        for key, param in self.params.items():
            setattr(self, key, params.get(key, param.default))

    def perturb(self, text: str, rng: Rng) -> str:
        raise NotImplementedError

    def perturb_batch(self, texts: list[str], rngs: Sequence[Rng]) -> list[str]:
        """``perturb`` for many texts, each with its own generator (subclasses may vectorise it)."""
        return [self.perturb(text, rng) for text, rng in zip(texts, rngs)]

    def perturb_token(self, token: str, rng: Rng) -> str:
        """One tagging token: the result is never empty and has no whitespace."""
        new = self.perturb(token, rng)
        return new if new and len(new.split()) == 1 else token

    @classmethod
    def summary(cls) -> str:
        return (cls.__doc__ or "").strip().splitlines()[0]


class CharPerturbation(Perturbation):
    """Edits single grapheme clusters; ``replace`` says what one picked cluster becomes."""

    level = "char"

    def perturb(self, text: str, rng: Rng) -> str:
        units, check = segment(text)
        return self.apply(units, check, rng.randbytes(2 * len(units)))

    def apply(self, units: list[str] | str, check: bool, drawn: bytes) -> str:
        """The edited text, from its clusters and their drawn numbers (see ``rng.select``).

        ``check``: whether an edit could fuse clusters and must be checked.
        """
        edits: list[tuple[int, str]] = []
        for i, fraction in select(drawn, self.rate):
            new = self.replace(units[i], fraction)
            if new is not None and new != units[i] and (not check or keeps_clusters(units, i, new, edits)):
                edits.append((i, new))
        return splice(units, edits)

    def replace(self, unit: str, fraction: float) -> str | None:
        """What ``unit`` becomes (None: not eligible); ``fraction`` is uniform on [0, 1) for choices."""
        raise NotImplementedError


class OptionPerturbation(CharPerturbation):
    """Replaces a cluster by one of its ``options`` (keyboard neighbours, look-alikes).

    Texts of single-code-point clusters are perturbed in one vectorised pass
    (``fast.py``), with the same result as one by one.
    """

    def options(self, unit: str) -> tuple[str, ...]:
        """What ``unit`` may become; may hold ``unit`` itself, which is then skipped."""
        raise NotImplementedError

    def replace(self, unit: str, fraction: float) -> str | None:
        return pick_other(self.options(unit), fraction, unit)

    def perturb_batch(self, texts: list[str], rngs: Sequence[Rng]) -> list[str]:
        return fast.perturb_batch(self, texts, rngs)


def keeps_clusters(units: list[str] | str, i: int, new: str, edits: list[tuple[int, str]], width: int = 1) -> bool:
    """Whether putting ``new`` at units ``i`` to ``i + width - 1`` leaves its neighbours' clusters as they were.

    Only some text can fuse clusters (see ``clusters.segment``): a consonant
    typed after a virama joins its cluster, and so do conjoining Hangul jamo,
    regional indicators and prepended marks; Thai and Lao leading vowels need
    their consonant. The left neighbour is the nearest text left as edited, so
    consecutive deletions are checked against what they bring together.
    """
    left, k = "", len(edits) - 1
    for j in range(i - 1, -1, -1):  # the nearest text to the left as edited (deletions leave none)
        while k >= 0 and edits[k][0] > j:
            k -= 1
        left = edits[k][1] if k >= 0 and edits[k][0] == j else units[j]
        if left:
            break
    right = units[i + width] if i + width < len(units) else ""
    return fits(left, new, right)


def splice(units: list[str] | str, edits: list[tuple[int, str]]) -> str:
    """``units`` joined, with unit ``i`` replaced by its new text for each ``(i, new)`` (ascending ``i``)."""
    if not edits:
        return join(units)
    parts: list[str] = []
    last = 0
    for i, new in edits:
        parts += (join(units[last:i]), new)
        last = i + 1
    parts.append(join(units[last:]))
    return "".join(parts)


def pick_other(options: tuple[str, ...], fraction: float, current: str) -> str | None:
    """The option at ``fraction`` of the way through ``options``, skipping ``current``; None if none differs."""
    if not options:
        return None
    k = int(fraction * len(options))
    choice = options[k]
    if choice == current:
        if len(options) == 1:
            return None
        choice = options[(k + 1) % len(options)]
    return choice


def count_letters(units: list[str] | str) -> int:
    return sum(1 for u in units if is_letter_cluster(u))


class WordPerturbation(Perturbation):
    """Edits words; ``edit`` works on ``Words`` so labels can follow their words."""

    level = "word"
    #: writes new words (a translation, a romanisation) rather than only moving or removing them
    rewrites_words: ClassVar[bool] = False

    def perturb(self, text: str, rng: Rng, protected: list[tuple[int, int]] | None = None) -> str:
        """``edit`` on the words of ``text``; an edit that would glue two clusters together is not made.

        ``protected``: character spans whose words no edit may touch (``guards.py``).
        """
        words = Words.of_text(text, self.language)
        if protected:
            words.frozen = words.covering(protected)
        edited = self.edit(words, rng)
        if edited is words or not (is_simple(text) or edited.intact()):
            return text
        return edited.text()

    def edit(self, words: Words, rng: Rng) -> Words:
        raise NotImplementedError
