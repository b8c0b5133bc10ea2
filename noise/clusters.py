"""Extended grapheme clusters (Unicode UAX #29), found fast.

The ``regex`` module's ``\\X`` is the reference, but costs ~30 µs for a Hindi
sentence, more than perturbing it. So text is segmented in three tiers, each
proven equal to ``\\X`` by the tests:

1. every code point is a cluster (hand-listed ranges: Latin, Greek, Cyrillic,
   CJK, Hangul syllables, unvocalised Arabic and Hebrew ...): no work at all;
2. text of Basic Multilingual Plane characters whose clusters follow three rules
   (a base character takes the marks after it; a control stands alone; a
   consonant after a virama joins its cluster, UAX #29 rule GB9c as ``regex``
   applies it):
   one standard-library regular expression, or numpy over a whole corpus
   (``starts``). The character classes come from the ``regex`` module's
   Unicode data, computed once on first use;
3. anything else (CR LF, ZWJ sequences, prepended marks, conjoining jamo,
   characters outside the BMP): ``\\X`` word by word, with each word's
   clusters cached, since words recur.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
import regex

# Tier 1: code points that always form a grapheme cluster on their own.
_SINGLE_CLUSTER_RANGES = (
    (0x0000, 0x000C),
    (0x000E, 0x02FF),  # controls except CR (CR LF is one cluster), Latin, IPA, spacing modifiers
    (0x0370, 0x0482),
    (0x048A, 0x052F),  # Greek, Cyrillic (without the combining Cyrillic marks)
    (0x05BE, 0x05BE),
    (0x05D0, 0x05EA),
    (0x05F0, 0x05F4),  # Hebrew letters without points
    (0x0606, 0x060F),
    (0x061B, 0x061B),
    (0x061D, 0x064A),
    (0x0660, 0x066F),
    (0x0671, 0x06D5),
    (0x06EE, 0x06FF),  # Arabic letters and punctuation without harakat
    (0x0E01, 0x0E30),
    (0x0E32, 0x0E32),
    (0x0E3F, 0x0E46),
    (0x0E4F, 0x0E5B),  # Thai letters that never attach
    (0x1E00, 0x1EFF),  # Latin Extended Additional (precomposed Vietnamese)
    (0x2010, 0x2027),
    (0x2030, 0x205E),
    (0x20A0, 0x20C0),
    (0x2100, 0x214F),  # punctuation, currency, letterlike symbols
    (0x3000, 0x3029),
    (0x3030, 0x303F),
    (0x3041, 0x3096),
    (0x309B, 0x30FF),  # CJK punctuation, kana
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7A3),  # CJK ideographs, precomposed Hangul syllables
    (0xFF01, 0xFF9D),  # full- and half-width forms
)
_SIMPLE = re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in _SINGLE_CLUSTER_RANGES) + "]*")
_CLUSTER = regex.compile(r"\X")
_ATTACHES = regex.compile(r"[\p{GCB=Extend}\p{GCB=SpacingMark}\p{GCB=ZWJ}]")
_PREPEND = regex.compile(r"\p{GCB=Prepend}")
_LEADING_VOWEL = re.compile("[\u0e40-\u0e44\u0ec0-\u0ec4]")  # Thai and Lao: see orthography.may_follow

# Tier 2 character classes (flags in one byte per BMP code point).
MARK, CONSONANT, LINKER, EXTEND, CONTROL, OUTSIDE = 1, 2, 4, 8, 16, 32
_GCB = regex.compile(
    r"(?P<mark>[\p{GCB=Extend}\p{GCB=SpacingMark}])"
    r"|(?P<outside>[\p{GCB=Prepend}\p{GCB=L}\p{GCB=V}\p{GCB=T}\p{GCB=ZWJ}\p{GCB=CR}\p{Cs}])"
    r"|(?P<control>[\p{GCB=Control}\p{GCB=LF}])"
)
_INCB = regex.compile(r"(?P<consonant>\p{InCB=Consonant})|(?P<linker>\p{InCB=Linker})|(?P<extend>\p{InCB=Extend})")
_FLAG = {
    "mark": MARK,
    "outside": OUTSIDE,
    "control": CONTROL,
    "consonant": CONSONANT,
    "linker": LINKER,
    "extend": EXTEND,
}


@dataclass(frozen=True)
class _Rules:
    flags: np.ndarray  # uint8 per BMP code point
    alphabet: re.Pattern[str]  # tier-2 text
    cluster: re.Pattern[str]  # one tier-2 cluster
    linker: re.Pattern[str]  # a virama-like sign: edits next to it can join clusters


def _char_class(flags: np.ndarray, mask: int, want: bool = True) -> str:
    """A regex character class body for the code points whose flags match ``mask``."""
    hits = ((flags & mask) != 0) == want
    edges = np.flatnonzero(np.diff(np.concatenate([[0], hits.astype(np.int8), [0]])))
    return "".join(f"\\U{a:08x}-\\U{b - 1:08x}" for a, b in zip(edges[::2], edges[1::2]))


@cache
def _rules() -> _Rules:
    table = bytearray(0x10000)
    for code in range(0x10000):
        for pattern in (_GCB, _INCB):
            m = pattern.match(chr(code))
            if m and m.lastgroup:
                table[code] |= _FLAG[m.lastgroup]
    flags = np.frombuffer(bytes(table), dtype=np.uint8).copy()
    # a conjunct sign that is not a mark (two Vedic signs) would need rules we do not model
    flags[((flags & (LINKER | EXTEND)) != 0) & ((flags & MARK) == 0)] |= OUTSIDE
    flags[((flags & CONSONANT) != 0) & ((flags & MARK) != 0)] |= OUTSIDE
    marks, controls = _char_class(flags, MARK), _char_class(flags, CONTROL)
    joiners, linkers, consonants = (
        _char_class(flags, LINKER | EXTEND),
        _char_class(flags, LINKER),
        _char_class(flags, CONSONANT),
    )
    # what follows a base: marks, and (GB9c as the regex module applies it) a consonant after a
    # virama-like linker and any further extend/linker signs
    attached = f"(?:[{linkers}][{joiners}]*[{consonants}]|[{marks}])"
    cluster = re.compile(f"[{controls}]|[^{controls}{marks}]{attached}*|{attached}+")
    return _Rules(
        flags, re.compile(f"[{_char_class(flags, OUTSIDE, want=False)}]*"), cluster, re.compile(f"[{linkers}]")
    )


def is_simple(text: str) -> bool:
    """Whether every code point of ``text`` is a grapheme cluster of its own."""
    return text.isascii() and "\r" not in text or _SIMPLE.fullmatch(text) is not None


def is_regular(text: str) -> bool:
    """Whether ``text`` segments by the tier-2 rules (``starts`` applies to it)."""
    return _rules().alphabet.fullmatch(text) is not None


def segment(text: str) -> tuple[list[str] | str, bool]:
    """The grapheme clusters of ``text``, and whether an edit could fuse or strand them.

    The clusters are the text itself when each code point is one (both index and
    slice alike). Edits can fuse clusters only next to a virama (a consonant
    after it joins its cluster) or in tier-3 text (conjoining jamo, regional
    indicators, prepended marks), and strand only a Thai or Lao leading vowel
    (which needs the consonant after it), so only there are they checked.
    """
    strands = _LEADING_VOWEL.search(text) is not None
    if is_simple(text):
        return text, strands
    rules = _rules()
    if rules.alphabet.fullmatch(text):
        return rules.cluster.findall(text), strands or rules.linker.search(text) is not None
    return _by_words(text), True


def has_linker(code_points: np.ndarray, text_starts: np.ndarray) -> np.ndarray:
    """Per text laid end to end: whether it holds a virama-like sign (see ``segment``)."""
    return np.add.reduceat((_rules().flags[code_points] & LINKER) != 0, text_starts) > 0


def starts(code_points: np.ndarray, text_starts: np.ndarray) -> np.ndarray:
    """Which code points start a cluster, for tier-1/2 texts laid end to end (``text_starts``: offsets)."""
    flags = _rules().flags[code_points]
    n = len(code_points)
    if not (flags & (MARK | CONSONANT)).any():  # one cluster per code point
        return np.ones(n, dtype=bool)
    first = np.zeros(n, dtype=bool)
    first[text_starts[text_starts < n]] = True
    after_control = np.zeros(n, dtype=bool)
    after_control[1:] = (flags[:-1] & CONTROL) != 0
    begins = ((flags & MARK) == 0) | first | after_control
    # GB9c (as the regex module applies it): a consonant right after a run of extend/linker
    # signs that holds a linker (a virama) joins the cluster before it
    position = np.arange(n)
    joiner = (flags & (LINKER | EXTEND)) != 0
    text_start = np.maximum.accumulate(np.where(first, position, 0))
    run_start = np.maximum(
        np.concatenate([[-1], np.maximum.accumulate(np.where(joiner, -1, position))[:-1]]), text_start - 1
    )
    linkers = np.concatenate([[0], np.cumsum((flags & LINKER) != 0)])  # linkers[k]: among the first k
    conjunct = ((flags & CONSONANT) != 0) & ~first & (linkers[position] - linkers[run_start + 1] > 0)
    return begins & ~conjunct


def _by_words(text: str) -> list[str]:
    """Full segmentation, word by word (words recur, so their clusters are cached)."""
    out: list[str] = []
    for n, word in enumerate(text.split(" ")):
        if n:
            out.append(" ")
        if word:
            found = _word_clusters(word)
            if found is None:  # a space would join this word's first or last cluster
                return _CLUSTER.findall(text)
            out += found
    return out


@lru_cache(maxsize=1 << 16)
def _word_clusters(word: str) -> tuple[str, ...] | None:
    if attaches(word[0]) or _PREPEND.match(word[-1]):
        return None
    return tuple(_CLUSTER.findall(word))


@lru_cache(maxsize=1 << 16)
def attaches(char: str) -> bool:
    """Whether a code point joins the cluster before it (combining and spacing marks, ZWJ)."""
    return _ATTACHES.match(char) is not None


@lru_cache(maxsize=1 << 16)
def joins(left: str, right: str) -> bool:
    """Whether ``left + right`` segments otherwise than the two apart (a cluster would fuse or shift)."""
    if not left or not right:
        return False
    return _CLUSTER.findall(left + right) != _CLUSTER.findall(left) + _CLUSTER.findall(right)


def clusters(text: str) -> list[str] | str:
    return segment(text)[0]


def cluster_list(text: str) -> list[str]:
    units = segment(text)[0]
    return list(units) if isinstance(units, str) else units


def join(units: list[str] | str) -> str:
    return units if isinstance(units, str) else "".join(units)
