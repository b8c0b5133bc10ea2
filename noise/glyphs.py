"""Visual look-alikes (for ``homoglyph``) and optional marks (for ``diacritics``).

``homoglyph`` follows VIPER (Eger et al. 2019): a character is replaced by one of
its visual neighbours. VIPER's easy embedding space (ECES) is a hand-made list of
look-alikes; its description-based one (DCES) finds characters whose Unicode
descriptions share the base letter, i.e. the same letter with other diacritics.
We use both: the cross-script confusables below (data: pairs of characters that
render alike in common fonts, each group listed once) and, derived from the
Unicode decompositions, every precomposed letter with the same base.
"""

from __future__ import annotations

import unicodedata
from functools import cache

#: groups of characters that look alike across (or within) scripts
CONFUSABLE_GROUPS = (
    # Latin / Cyrillic / Greek
    "aаɑα",
    "AАΑ",
    "BВΒ",
    "cсϲ",
    "CСϹ",
    "dԁ",
    "eеє",
    "EЕΕ",
    "hһ",
    "HНΗ",
    "iіι",
    "IІΙӀl",
    "jј",
    "JЈ",
    "kκк",
    "KКΚ",
    "MМΜ",
    "nп",
    "NΝ",
    "oоο",
    "OОΟ0",
    "pрρ",
    "PРΡ",
    "qԛ",
    "sѕ",
    "SЅ",
    "TТΤ",
    "uυ",
    "vνѵ",
    "wԝ",
    "xхχ",
    "XХΧ",
    "yу",
    "YҮΥ",
    "ZΖ",
    "ΓГ",
    "ΠП",
    "ΦФ",
    "ηп",
    # Arabic-script letter variants
    "يیى",
    "كک",
    "هەھ",
    "اأإآ",
    "وؤ",
    # Hebrew
    "דר",
    "החת",
    "בכ",
    "וזן",
    "סם",
    "טמ",
    # Devanagari
    "बव",
    "घध",
    "मभ",
    "पष",
    # Thai
    "ดต",
    "บปษ",
    "ผฝ",
    "พฟ",
    "ภถ",
    "ชซ",
    "ฎฏ",
    "ขฃ",
    "คฅ",
    # Han / kana look-alikes
    "口ロ",
    "工エ",
    "力カ",
    "夕タ",
    "二ニ",
    "八ハ",
    "一ー",
    "卜ト",
    "未末",
    "己已巳",
    "土士",
    "人入",
    "日曰",
)

# Blocks whose precomposed letters give the same-base neighbours (Latin, Greek, Cyrillic).
_PRECOMPOSED = ((0x00C0, 0x024F), (0x1E00, 0x1EFF), (0x0386, 0x03CE), (0x1F00, 0x1FFC), (0x0400, 0x04FF))

#: combining marks that are optional diacritics (accents, harakat, niqqud, nukta), not vowel signs
_STRIPPABLE = (
    (0x0300, 0x036F),  # combining diacritical marks
    (0x0483, 0x0489),  # Cyrillic
    (0x0591, 0x05BD),
    (0x05BF, 0x05BF),
    (0x05C1, 0x05C2),
    (0x05C4, 0x05C5),
    (0x05C7, 0x05C7),  # Hebrew points and cantillation
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06DC),
    (0x06DF, 0x06E4),
    (0x06E7, 0x06E8),
    (0x06EA, 0x06ED),  # Arabic harakat and Quranic marks
    (0x1AB0, 0x1AFF),
    (0x1DC0, 0x1DFF),
    (0x20D0, 0x20FF),
    (0xFE20, 0xFE2F),  # extended and supplementary combining marks
)
_NUKTA_CLASS = 7  # canonical combining class of the Indic nuktas


@cache
def _same_base() -> dict[str, tuple[str, ...]]:
    groups: dict[str, list[str]] = {}
    for lo, hi in _PRECOMPOSED:
        for code in range(lo, hi + 1):
            char = chr(code)
            base = unicodedata.normalize("NFD", char)[0]
            if char.isalpha() and base != char and base.isalpha():
                groups.setdefault(base, [base]).append(char)
    out: dict[str, tuple[str, ...]] = {}
    for members in groups.values():
        for char in members:
            out[char] = tuple(m for m in members if m != char)
    return out


@cache
def homoglyph_table() -> dict[str, tuple[str, ...]]:
    """Character -> its look-alikes: cross-script confusables first, then same-base letters."""
    table: dict[str, dict[str, None]] = {}
    for group in CONFUSABLE_GROUPS:
        for char in group:
            table.setdefault(char, {}).update(dict.fromkeys(c for c in group if c != char))
    for char, others in _same_base().items():
        table.setdefault(char, {}).update(dict.fromkeys(others))
    return {k: tuple(v) for k, v in table.items()}


def is_strippable(mark: str) -> bool:
    code = ord(mark)
    return any(lo <= code <= hi for lo, hi in _STRIPPABLE) or unicodedata.combining(mark) == _NUKTA_CLASS


def strip_diacritics(cluster: str) -> str:
    """``cluster`` without its optional diacritics, in the normalisation form it came in."""
    decomposed = unicodedata.normalize("NFD", cluster)
    kept = "".join(c for c in decomposed if not is_strippable(c))
    if len(kept) == len(decomposed):
        return cluster
    return unicodedata.normalize("NFC", kept) if unicodedata.is_normalized("NFC", cluster) else kept
