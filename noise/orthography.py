"""What a script allows in one grapheme cluster and next to it: the rules character edits keep.

Cluster boundaries (``clusters.py``) say where an edit may cut; they do not say
whether what it writes is a spelling the script allows. A keyboard slip that
replaces one mark by its neighbouring key can stack two vowel signs on a
consonant (``मैं → मैे``), put a virama after a vowel sign (``है्``), strand a
Thai leading vowel (``ไไม่``) or move a Greek accent onto a consonant
(``μά → μσ́``); no typist produces those, so a model's drop on them measures the
noise, not the model. ``RULES`` is the whole policy, one row per script (or per
language where a script's rules differ by language):

=============  =====================================================================
rule           meaning
=============  =====================================================================
abugida        a dependent vowel sign, virama or nukta sits on a consonant (never
               on an independent vowel); a virama directly follows a consonant or
               nukta (Indic_Syllabic_Category of the Unicode data)
one_of         groups of signs of which a cluster holds at most one (a consonant
               takes one dependent vowel sign, one tone mark, one short vowel)
marks_on       a combining mark sits only on the listed base letters (accents and
               tone marks stay on vowels)
precomposed    a combining mark makes a letter Unicode has precomposed (an accent
               some alphabet puts on that letter)
leading        letters written before their consonant, which must follow them
=============  =====================================================================

Edits keep the rules by construction where they can: a typo that would break
them drops the misplaced accent (what a real slip does: the dead key lands on a
letter that cannot take it) or is not made; substitutions keep a letter's kind
(consonant for consonant, vowel for vowel); insertions type letters that may
start a syllable. The rest (swaps, deletions next to Thai leading vowels) is
checked where the edit is made (``perturbation.fits``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import regex

from .clusters import cluster_list, joins
from .text import script_of

# Indic_Syllabic_Category classes (the `regex` module carries the Unicode data)
_CONSONANT = regex.compile(r"\p{InSC=Consonant}|\p{InSC=Consonant_Dead}|\p{InSC=Consonant_Placeholder}")
_VOWEL_SIGN = r"\p{InSC=Vowel_Dependent}"
_VIRAMA = regex.compile(r"\p{InSC=Virama}|\p{InSC=Invisible_Stacker}")
_NUKTA = regex.compile(r"\p{InSC=Nukta}")
_ON_CONSONANT = regex.compile(rf"{_VOWEL_SIGN}|\p{{InSC=Virama}}|\p{{InSC=Invisible_Stacker}}|\p{{InSC=Nukta}}")
_TONE_MARK = r"\p{InSC=Tone_Mark}"
_INDEPENDENT_VOWEL = regex.compile(r"\p{InSC=Vowel_Independent}")
_STANDALONE_VOWEL = regex.compile(rf"(?!\p{{InPC=Visual_Order_Left}}){_VOWEL_SIGN}")

_GREEK_ACCENTS = "\u0300\u0301\u0304\u0306\u0308\u0313\u0314\u0342\u0344\u0345"
_VIETNAMESE_MARKS = "\u0300\u0301\u0302\u0303\u0306\u0309\u031b\u0323"  # tones, circumflex, breve, horn
_YORUBA_TONES = "\u0300\u0301\u0304"


@dataclass(frozen=True)
class Orthography:
    """The rules of one script (see the module's table)."""

    abugida: bool = False
    one_of: tuple[str, ...] = ()  # regex classes
    marks_on: dict[str, str] = field(default_factory=dict)  # mark -> base letters (lower case)
    precomposed: bool = False
    leading: str = ""

    def __hash__(self) -> int:
        return id(self)


_ABUGIDA = Orthography(abugida=True, one_of=(_VOWEL_SIGN, _TONE_MARK))

#: the rules, per script; a language's row (vi, yo) overrides its script's for its own text
RULES: dict[str, Orthography] = {
    "Devanagari": _ABUGIDA,
    "Bengali": _ABUGIDA,
    "Gurmukhi": _ABUGIDA,
    "Gujarati": _ABUGIDA,
    "Oriya": _ABUGIDA,
    "Tamil": _ABUGIDA,
    "Telugu": _ABUGIDA,
    "Kannada": _ABUGIDA,
    "Malayalam": _ABUGIDA,
    "Sinhala": _ABUGIDA,
    "Thai": Orthography(abugida=True, one_of=(_VOWEL_SIGN, _TONE_MARK), leading="เแโใไ"),
    "Lao": Orthography(abugida=True, one_of=(_VOWEL_SIGN, _TONE_MARK), leading="ເແໂໃໄ"),
    "Greek": Orthography(marks_on={m: "αεηιουω" + ("ρ" if m in "\u0313\u0314" else "") for m in _GREEK_ACCENTS}),
    "vi": Orthography(marks_on={m: "aeiouy" for m in _VIETNAMESE_MARKS}),
    "yo": Orthography(marks_on={**{m: "aeiounm" for m in _YORUBA_TONES}, "\u0323": "eos"}),
    "Arabic": Orthography(one_of=("[\u064b-\u0650\u0652]", "\u0651")),  # one short vowel/tanwin/sukun, one shadda
    "Hebrew": Orthography(one_of=("[\u05b0-\u05bb\u05c7]", "\u05bc"), marks_on={"\u05c1": "ש", "\u05c2": "ש"}),
    "Latin": Orthography(precomposed=True),
    "Cyrillic": Orthography(precomposed=True),
}
_LANGUAGE_ROWS = {"vi": "Latin", "yo": "Latin"}


def rules_for(language: str, script: str) -> Orthography | None:
    if _LANGUAGE_ROWS.get(language) == script:
        return RULES[language]
    return RULES.get(script)


@lru_cache(maxsize=1 << 16)
def valid(cluster: str, language: str = "") -> bool:
    """Whether one grapheme cluster is a spelling its script allows (``RULES``)."""
    rules = rules_for(language, script_of(cluster))
    if rules is None or len(cluster) == 1:
        return True
    composed = unicodedata.normalize("NFC", cluster)  # a two-part vowel sign counts once
    if rules.abugida and not _syllable_ok(composed):
        return False
    if any(len(regex.findall(group, composed[1:])) > 1 for group in rules.one_of):
        return False
    if rules.marks_on or rules.precomposed:
        decomposed = unicodedata.normalize("NFD", cluster)
        base = decomposed[0].lower()
        for mark in decomposed[1:]:
            if not unicodedata.combining(mark):
                continue
            allowed = rules.marks_on.get(mark)
            if allowed is not None and base not in allowed:
                return False
            if rules.precomposed and len(unicodedata.normalize("NFC", base + mark)) > 1:
                return False
    return True


def _syllable_ok(cluster: str) -> bool:
    consonant_base = _CONSONANT.match(cluster) is not None
    previous = cluster[0]
    for char in cluster[1:]:
        if _ON_CONSONANT.match(char):
            if not consonant_base:
                return False
            if (_VIRAMA.match(char) or _NUKTA.match(char)) and not (
                _CONSONANT.match(previous) or _NUKTA.match(previous)
            ):
                return False
        elif _INDEPENDENT_VOWEL.match(char) and previous not in "\u200c\u200d":
            return False
        previous = char
    return True


#: leading vowels, and the vowel signs that stand as clusters of their own in the same scripts (Thai ``า``)
LEADING = frozenset("".join(r.leading for r in RULES.values()))
_FOLLOWING = frozenset(
    chr(c) for c in range(0x0E00, 0x0F00) if _STANDALONE_VOWEL.match(chr(c)) and chr(c) not in LEADING
)
_SEAM = LEADING | _FOLLOWING


def may_follow(previous: str, cluster: str) -> bool:
    """Whether ``cluster`` may come right after ``previous`` ("" : the start or end of the text).

    A leading vowel (Thai, Lao) is followed by a consonant; a vowel sign that
    stands as a cluster of its own there (Thai ``า``) follows a letter of its script.
    """
    if previous and previous[-1] in LEADING:
        return bool(cluster) and _CONSONANT.match(cluster) is not None
    if cluster[:1] in _FOLLOWING:
        return bool(previous) and previous[0].isalpha() and script_of(previous[0]) == script_of(cluster)
    return True


def keeps_order(left: str, new: str, right: str) -> bool:
    """Whether ``new`` (clusters) between the clusters ``left`` and ``right`` keeps ``may_follow`` at every seam."""
    if not _SEAM.isdisjoint(left[-1:] + new + right[:1]):
        sequence = [left, *cluster_list(new), right]
        return all(may_follow(a, b) for a, b in zip(sequence, sequence[1:]))
    return True


def fits(left: str, new: str, right: str) -> bool:
    """Whether ``new`` between ``left`` and ``right`` (as edited so far) fuses with neither and
    leaves the script's order intact (``keeps_order``: a Thai leading vowel before its consonant)."""
    return not (joins(left, new or right) or joins(new, right)) and keeps_order(left, new, right)


def same_kind(a: str, b: str) -> bool:
    """Whether two letters play the same part in a syllable (consonant, leading vowel, vowel sign, other)."""
    return kind_of(a) == kind_of(b)


@lru_cache(maxsize=1 << 16)
def kind_of(char: str) -> str:
    """The part a letter plays in a syllable: consonant, leading (vowel), vowel sign or other."""
    if _CONSONANT.match(char):
        return "consonant"
    rules = RULES.get(script_of(char))
    if rules is not None and char in rules.leading:
        return "leading"
    if _STANDALONE_VOWEL.match(char):
        return "vowel sign"
    return "other"


def starts_syllable(letter: str) -> bool:
    """Whether a letter may be typed after any cluster (not a vowel sign that needs a consonant)."""
    return kind_of(letter) in ("consonant", "other")


def repair(variant: str, language: str) -> str | None:
    """A typo's cluster made valid: as it is, else without its combining marks (the accent a finger
    put on a letter that cannot take it is lost), else None."""
    if valid(variant, language):
        return variant
    bare = "".join(c for c in unicodedata.normalize("NFD", variant) if not unicodedata.combining(c))
    bare = unicodedata.normalize("NFC", bare)
    return bare if bare and valid(bare, language) else None
