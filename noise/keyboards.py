"""Keyboard layouts and what a slipping finger types instead of a character.

The layouts are data: each layer lists the characters of the four rows of an ISO
keyboard, the number row from E00 (left of 1), the top row from D01 (Q), the home
row from C01 (A; C12 is the key right of it on ISO boards) and the bottom row
from B00 (the ISO key left of Z); ``·`` marks a key that types nothing there.
They follow the Windows layouts in Unicode CLDR (``keyboards/windows``), except
Korean (the 2-set Dubeolsik standard, KS X 5002) and Vietnamese (Telex typing on
US QWERTY). Keys are placed with the usual stagger (top row +0.5 key, home row
+0.75, bottom row +1.25 from the number row); two keys are neighbours when they
sit side by side in a row, or in adjacent rows less than one key width apart.

A character's typos are its neighbours *of the same kind*: a letter for a letter,
a mark for a mark (a Devanagari vowel sign for a vowel sign), so the text stays
well-formed. A character with diacritics not on the keyboard keeps them (German
``é`` can become ``ẃ``: the dead key was typed right, the letter wrong); a Hangul
syllable is split into its jamo, one jamo is replaced by a neighbour that may
take its place, and the syllable is recomposed; Vietnamese tone marks are
confused through their Telex keys (s/x, f/r; z clears the tone).

Chinese and Japanese are typed through an input method: their typos are
pinyin homophones and near-homophones, and romaji slips between kana
(``readings.py``).

Fallback, for text in a language without a layout of its own (and for
characters of another script than the layout's, such as Latin words in Hindi):
the layout of the character's script (Latin: en, Cyrillic: ru, Greek: el,
Arabic: ar, Hebrew: he, Devanagari: hi, Thai: th, Hangul: ko); for a letter not
on that layout, for kanji and for scripts with no layout here, a random letter
of the same script (Han: a character in common use, weighted by frequency). ``typo:...:strict`` uses only the language's own layout and is
an error for languages without one.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Container
from dataclasses import dataclass
from functools import cache, cached_property

from .clusters import attaches, cluster_list
from .frequencies import weighted_letters
from .orthography import kind_of, repair, same_kind, starts_syllable
from .readings import INPUT_METHODS, characters_by_reading, common_han, kana_romaji, pinyin_reading
from .text import script_of

EMPTY = "·"


@dataclass(frozen=True)
class Layout:
    language: str
    name: str
    script: str
    #: layers (base, then shift where it holds other letters), each four rows E, D, C, B
    layers: tuple[tuple[str, str, str, str], ...]

    @cached_property
    def near(self) -> dict[str, tuple[str, ...]]:
        """Character -> its neighbouring characters of the same kind (letters, or marks)."""
        return _neighbours(self.layers)

    @cached_property
    def letters(self) -> tuple[str, ...]:
        """The letters this layout types, for random insertions and substitutions in its script."""
        keys = {k for layer in self.layers for row in layer for k in row.split()}
        return tuple(sorted(k for k in keys if len(k) == 1 and k.isalpha() and not attaches(k) and k.lower() == k))


_QWERTY = ("` 1 2 3 4 5 6 7 8 9 0 - =", "q w e r t y u i o p [ ]", "a s d f g h j k l ; ' \\", "· z x c v b n m , . /")

LAYOUTS: dict[str, Layout] = {
    layout.language: layout
    for layout in (
        Layout("en", "US QWERTY", "Latin", (_QWERTY,)),
        Layout(
            "de",
            "German QWERTZ",
            "Latin",
            (
                (
                    "^ 1 2 3 4 5 6 7 8 9 0 ß ´",
                    "q w e r t z u i o p ü +",
                    "a s d f g h j k l ö ä #",
                    "< y x c v b n m , . -",
                ),
            ),
        ),
        Layout(
            "fr",
            "French AZERTY",
            "Latin",
            (
                (
                    "² & é \" ' ( - è _ ç à ) =",
                    "a z e r t y u i o p ^ $",
                    "q s d f g h j k l m ù *",
                    "< w x c v b n , ; : !",
                ),
            ),
        ),
        Layout(
            "es",
            "Spanish QWERTY",
            "Latin",
            (
                (
                    "º 1 2 3 4 5 6 7 8 9 0 ' ¡",
                    "q w e r t y u i o p ` +",
                    "a s d f g h j k l ñ ´ ç",
                    "< z x c v b n m , . -",
                ),
            ),
        ),
        Layout(
            "it",
            "Italian QWERTY",
            "Latin",
            (
                (
                    "\\ 1 2 3 4 5 6 7 8 9 0 ' ì",
                    "q w e r t y u i o p è +",
                    "a s d f g h j k l ò à ù",
                    "< z x c v b n m , . -",
                ),
            ),
        ),
        Layout(
            "pt",
            "Portuguese QWERTY (Portugal)",
            "Latin",
            (
                (
                    "\\ 1 2 3 4 5 6 7 8 9 0 ' «",
                    "q w e r t y u i o p + ´",
                    "a s d f g h j k l ç º ~",
                    "< z x c v b n m , . -",
                ),
            ),
        ),
        Layout(
            "tr",
            "Turkish Q",
            "Latin",
            (
                (
                    '" 1 2 3 4 5 6 7 8 9 0 * -',
                    "q w e r t y u ı o p ğ ü",
                    "a s d f g h j k l ş i ,",
                    "< z x c v b n m ö ç .",
                ),
            ),
        ),
        Layout("vi", "Vietnamese Telex on US QWERTY", "Latin", (_QWERTY,)),
        Layout(
            "ru",
            "Russian ЙЦУКЕН",
            "Cyrillic",
            (
                (
                    "ё 1 2 3 4 5 6 7 8 9 0 - =",
                    "й ц у к е н г ш щ з х ъ",
                    "ф ы в а п р о л д ж э \\",
                    "· я ч с м и т ь б ю .",
                ),
            ),
        ),
        Layout(
            "uk",
            "Ukrainian (enhanced) ЙЦУКЕН",
            "Cyrillic",
            (
                (
                    "' 1 2 3 4 5 6 7 8 9 0 - =",
                    "й ц у к е н г ш щ з х ї",
                    "ф і в а п р о л д ж є \\",
                    "ґ я ч с м и т ь б ю .",
                ),
            ),
        ),
        Layout(
            "bg",
            "Bulgarian (BDS)",
            "Cyrillic",
            (
                (
                    "( 1 2 3 4 5 6 7 8 9 0 - .",
                    ", у е и ш щ к с д з ц ;",
                    "ь я а о ж г т н в м ч „",
                    "ѝ ю й ъ э ф х п р л б",
                ),
                (
                    ') ! ? + " % = : / – № $ €',
                    "ы У Е И Ш Щ К С Д З Ц §",
                    "· Я А О Ж Г Т Н В М Ч “",
                    "Ѝ Ю Й Ъ Э Ф Х П Р Л Б",
                ),
            ),
        ),
        Layout(
            "el",
            "Greek",
            "Greek",
            (
                (
                    "` 1 2 3 4 5 6 7 8 9 0 - =",
                    "; ς ε ρ τ υ θ ι ο π [ ]",
                    "α σ δ φ γ η ξ κ λ ΄ ' \\",
                    "< ζ χ ψ ω β ν μ , . /",
                ),
            ),
        ),
        Layout(
            "ar",
            "Arabic (101)",
            "Arabic",
            (
                (
                    "ذ 1 2 3 4 5 6 7 8 9 0 - =",
                    "ض ص ث ق ف غ ع ه خ ح ج د",
                    "ش س ي ب ل ا ت ن م ك ط \\",
                    "· ئ ء ؤ ر لا ى ة و ز ظ",
                ),
            ),
        ),
        Layout(
            "fa",
            "Persian",
            "Arabic",
            (
                (
                    "÷ 1 2 3 4 5 6 7 8 9 0 - =",
                    "ض ص ث ق ف غ ع ه خ ح ج چ",
                    "ش س ی ب ل ا ت ن م ک گ پ",
                    "پ ظ ط ز ر ذ د ئ و . /",
                ),
                (
                    "× ! @ # $ % ^ & * ) ( _ +",
                    "\u064b \u064c \u064d ريال ، ؛ , ] [ \\ } {",
                    '\u064e \u064f \u0650 \u0651 ۀ آ ـ « » : " |',
                    "| ة ي ژ ؤ إ أ ء < > ؟",
                ),
            ),
        ),
        Layout(
            "fa",
            "Persian (standard, ISIRI 9147)",
            "Arabic",
            (
                (
                    "÷ ۱ ۲ ۳ ۴ ۵ ۶ ۷ ۸ ۹ ۰ - =",
                    "ض ص ث ق ف غ ع ه خ ح ج چ",
                    "ش س ی ب ل ا ت ن م ک گ \\",
                    "· ظ ط ز ر ذ د پ و . /",
                ),
            ),
        ),
        Layout(
            "ur",
            "Urdu (Windows)",
            "Arabic",
            (
                (
                    "` ۱ ۲ ۳ ۴ ۵ ۶ ۷ ۸ ۹ ۰ - =",
                    "ط ص ھ د ٹ پ ت ب ج ح ] [",
                    "م و ر ن ل ہ ا ک ی ؛ ' \\",
                    "· ق ف ے س ش غ ع ، ۔ /",
                ),
            ),
        ),
        Layout(
            "he",
            "Hebrew",
            "Hebrew",
            (
                (
                    "; 1 2 3 4 5 6 7 8 9 0 - =",
                    "/ ' ק ר א ט ו ן ם פ ] [",
                    "ש ד ג כ ע י ח ל ך ף , \\",
                    "· ז ס ב ה נ מ צ ת ץ .",
                ),
            ),
        ),
        Layout(
            "hi",
            "Devanagari InScript",
            "Devanagari",
            (
                (
                    "\u094a 1 2 3 4 5 6 7 8 9 0 - \u0943",
                    "\u094c \u0948 \u093e \u0940 \u0942 ब ह ग द ज ड \u093c",
                    "\u094b \u0947 \u094d \u093f \u0941 प र क त च ट \u0949",
                    "\u0949 \u0946 \u0902 म न व ल स , . य",
                ),
                (
                    "ऒ ऍ \u0945 \u094dर र\u094d ज\u094dञ त\u094dर क\u094dष श\u094dर ( ) \u0903 ऋ",
                    "औ ऐ आ ई ऊ भ ङ घ ध झ ढ ञ",
                    "ओ ए अ इ उ फ ऱ ख थ छ ठ ऑ",
                    "ऑ ऎ \u0901 ण ऩ ऴ ळ श ष । य़",
                ),
            ),
        ),
        Layout(
            "th",
            "Thai Kedmanee",
            "Thai",
            (
                (
                    "_ ๅ / - ภ ถ \u0e38 \u0e36 ค ต จ ข ช",
                    "ๆ ไ ำ พ ะ \u0e31 \u0e35 ร น ย บ ล",
                    "ฟ ห ก ด เ \u0e49 \u0e48 า ส ว ง ฃ",
                    "ฃ ผ ป แ อ \u0e34 \u0e37 ท ม ใ ฝ",
                ),
                (
                    "% + ๑ ๒ ๓ ๔ \u0e39 ฿ ๕ ๖ ๗ ๘ ๙",
                    '๐ " ฎ ฑ ธ \u0e4d \u0e4a ณ ฯ ญ ฐ ,',
                    "ฤ ฆ ฏ โ ฌ \u0e47 \u0e4b ษ ศ ซ . ฅ",
                    "ฅ ( ) ฉ ฮ \u0e3a \u0e4c ? ฒ ฬ ฦ",
                ),
            ),
        ),
        Layout(
            "ko",
            "Korean 2-set (Dubeolsik)",
            "Hangul",
            (
                (
                    "` 1 2 3 4 5 6 7 8 9 0 - =",
                    "ㅂ ㅈ ㄷ ㄱ ㅅ ㅛ ㅕ ㅑ ㅐ ㅔ [ ]",
                    "ㅁ ㄴ ㅇ ㄹ ㅎ ㅗ ㅓ ㅏ ㅣ ; ' \\",
                    "· ㅋ ㅌ ㅊ ㅍ ㅠ ㅜ ㅡ , . /",
                ),
                (
                    "~ ! @ # $ % ^ & * ( ) _ +",
                    "ㅃ ㅉ ㄸ ㄲ ㅆ ㅛ ㅕ ㅑ ㅒ ㅖ { }",
                    'ㅁ ㄴ ㅇ ㄹ ㅎ ㅗ ㅓ ㅏ ㅣ : " |',
                    "· ㅋ ㅌ ㅊ ㅍ ㅠ ㅜ ㅡ < > ?",
                ),
            ),
        ),
    )
}

#: the layout used for a script's characters when the text's language has none of its own
SCRIPT_LAYOUTS = {
    "Latin": "en",
    "Cyrillic": "ru",
    "Greek": "el",
    "Arabic": "ar",
    "Hebrew": "he",
    "Devanagari": "hi",
    "Thai": "th",
    "Hangul": "ko",
}

# Horizontal offset of each row's first key (E00, D01, C01, B00), in key widths.
_ROW_OFFSET = (0.0, 1.5, 1.75, 1.25)

# Vietnamese Telex: the key typed after a vowel for each tone mark.
_TELEX_TONES = {"\u0301": "s", "\u0300": "f", "\u0309": "r", "\u0303": "x", "\u0323": "j"}
_TELEX_CLEAR = "z"


def _kind(char: str) -> str | None:
    if attaches(char):
        return "mark"
    return "letter" if char.isalpha() else None


def _neighbours(layers: tuple[tuple[str, str, str, str], ...]) -> dict[str, tuple[str, ...]]:
    near: dict[str, dict[str, None]] = {}
    for layer in layers:
        keys = [
            (r, c + _ROW_OFFSET[r], k)
            for r, row in enumerate(layer)
            for c, k in enumerate(row.split())
            if k != EMPTY and len(k) == 1
        ]
        for r, x, k in keys:
            kind = _kind(k)
            if kind is None:
                continue
            for r2, x2, k2 in keys:
                adjacent = (r2 == r and abs(x2 - x) == 1) or (abs(r2 - r) == 1 and abs(x2 - x) < 1)
                if adjacent and k2 != k and _kind(k2) == kind:
                    near.setdefault(k, {})[k2] = None
    # Upper case: the neighbours of the lower-case key, upper-cased (Shift does not move the finger).
    for k in list(near):
        up = k.upper()
        if len(up) == 1 and up != k and up not in near:
            near[up] = {n.upper(): None for n in near[k] if len(n.upper()) == 1}
    return {k: tuple(v) for k, v in near.items()}


def _slips(reading: str, known: Container[str]) -> list[str]:
    """The readings of ``known`` that one finger slip on a QWERTY key turns ``reading`` into."""
    near = LAYOUTS["en"].near
    out = []
    for i, letter in enumerate(reading):
        for other in near.get(letter, ()):
            slipped = reading[:i] + other + reading[i + 1 :]
            if slipped != reading and slipped in known and slipped not in out:
                out.append(slipped)
    return out


@cache
def pinyin_typos(char: str) -> tuple[str, ...]:
    """What typing ``char`` by pinyin with one slip gives: as often a homophone (the wrong candidate) as a
    character of a reading one key away; empty for a character outside the table."""
    reading = pinyin_reading(char)
    if reading is None:
        return ()
    syllables = characters_by_reading()
    homophones = tuple(c for c in syllables[reading] if c != char)
    near = tuple(c for other in _slips(reading, syllables) for c in syllables[other])
    return homophones * max(1, round(len(near) / max(1, len(homophones)))) + near


@cache
def romaji_typos(kana: str) -> tuple[str, ...]:
    """Kana one romaji key slip away (same script: hiragana for hiragana, katakana for katakana)."""
    table = kana_romaji()
    reading = table.get(kana)
    if reading is None:
        return ()
    katakana = ord(kana) >= 0x30A0
    by_reading = {r: k for k, r in table.items() if (ord(k) >= 0x30A0) == katakana}
    return tuple(by_reading[r] for r in _slips(reading, by_reading))


def input_method_typos(language: str, cluster: str) -> tuple[str, ...]:
    """The input-method slips of ``cluster`` for a typist of ``language`` (empty: none modelled)."""
    if language == "zh":
        return pinyin_typos(cluster)
    if language == "ja":
        return romaji_typos(cluster)
    return ()


@cache
def _telex_near() -> dict[str, tuple[str, ...]]:
    """Tone mark -> the tone marks (or "" for none) whose Telex key neighbours its own key."""
    qwerty = LAYOUTS["en"].near
    by_key = {key: mark for mark, key in _TELEX_TONES.items()}
    out = {}
    for mark, key in _TELEX_TONES.items():
        keys = qwerty.get(key, ())
        out[mark] = tuple(by_key[k] for k in keys if k in by_key) + (("",) if _TELEX_CLEAR in keys else ())
    return out


# Hangul syllable arithmetic (Unicode ch. 3.12) over compatibility jamo, as keyboards type them.
_L = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
_V = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
_T = ("", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ")
_SYLLABLES = range(0xAC00, 0xD7A4)


def _hangul(cluster: str, near: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    index = ord(cluster) - 0xAC00
    parts = [index // (21 * 28), index // 28 % 21, index % 28]
    out = []
    for slot, alphabet in enumerate((_L, _V, _T)):
        if slot == 2 and parts[2] == 0:
            continue
        for n in near.get(alphabet[parts[slot]], ()):
            if n in alphabet:
                new = list(parts)
                new[slot] = alphabet.index(n)
                out.append(chr(0xAC00 + (new[0] * 21 + new[1]) * 28 + new[2]))
    return tuple(out)


def hangul_syllables() -> tuple[str, ...]:
    """Open syllables (initial + vowel): what a random Hangul insertion or substitution types."""
    return tuple(chr(0xAC00 + (li * 21 + vi) * 28) for li in range(19) for vi in range(21))


def layout_variants(layout: Layout, cluster: str) -> tuple[str, ...]:
    """What typing ``cluster`` on ``layout`` with one slip of a finger can give (empty: not typed there)."""
    near = layout.near
    if cluster in near:
        return near[cluster]
    if len(cluster) == 1 and ord(cluster) in _SYLLABLES:
        return _hangul(cluster, near) if layout.script == "Hangul" else ()
    decomposed = unicodedata.normalize("NFD", cluster)
    if decomposed == cluster and len(cluster) == 1:
        return ()
    composed = unicodedata.is_normalized("NFC", cluster)
    telex = _telex_near() if layout.language == "vi" else {}
    out: dict[str, None] = {}
    for i, char in enumerate(decomposed):
        for n in near.get(char, ()) + telex.get(char, ()):
            new = decomposed[:i] + n + decomposed[i + 1 :]
            new = unicodedata.normalize("NFC", new) if composed else new
            if new and new != cluster:
                out[new] = None
    return tuple(out)


class Keyboard:
    """The typos of one language's typist: its own layout, then the fallbacks described above."""

    def __init__(self, language: str, layout: str | None = None, strict: bool = False) -> None:
        self.own = LAYOUTS.get(layout or language)
        self.language = language
        self.strict = strict
        self._cache: dict[str, tuple[str, ...]] = {}

    def variants(self, cluster: str) -> tuple[str, ...]:
        """The typos of ``cluster`` (empty when none: digits, punctuation, unknown scripts).

        The same-script fallback returns the script's whole alphabet (shared, not
        copied), which may hold ``cluster`` itself: pick with ``perturbation.pick_other``.
        """
        cached = self._cache.get(cluster)
        if cached is None:
            cached = self._cache[cluster] = self._variants(cluster)
        return cached

    def _variants(self, cluster: str) -> tuple[str, ...]:
        if self.own is None and self.language in INPUT_METHODS:  # whole characters, weighted: kept as they are
            found = input_method_typos(self.language, cluster)
            if found or self.strict:
                return found
        found = self._typed(cluster)
        if found is script_letters(script_of(cluster), kind_of(cluster[0])):
            return found
        return tuple(dict.fromkeys(v for v in (self._spelled(v, cluster) for v in found) if v))

    def _spelled(self, variant: str, cluster: str) -> str | None:
        """A typo as the script allows it (``orthography``): one cluster, a letter of the same kind."""
        new = repair(variant, self.language)
        if new is None or new == cluster or not same_kind(new[0], cluster[0]) or len(cluster_list(new)) != 1:
            return None
        return new

    def _typed(self, cluster: str) -> tuple[str, ...]:
        if self.own is not None:
            found = layout_variants(self.own, cluster)
            if found or self.strict:
                return found
        if not cluster[:1].isalpha():
            return ()
        script = script_of(cluster)
        fallback = SCRIPT_LAYOUTS.get(script)
        found = layout_variants(LAYOUTS[fallback], cluster) if fallback is not None else ()
        return found or script_letters(script, kind_of(cluster[0]))


@cache
def script_letters(script: str, kind: str | None = None) -> tuple[str, ...]:
    """Letters of a script to insert or substitute: its layout's letters, else its Unicode letters.

    Han uses the characters in common use, repeated by frequency class
    (``readings.common_han``), Hangul the open syllables, Bengali, Tamil, Telugu,
    Malayalam and Georgian the letters of real text weighted by frequency
    (``frequencies.py``); other scripts without a layout every non-combining
    lower-case or caseless letter of the script in the Basic Multilingual Plane.
    ``kind``: see ``letters_for``.
    """
    if kind is not None:
        return _of_kind(script_letters(script), kind)
    if script == "Hangul":
        return hangul_syllables()
    if script == "Han":
        return common_han()
    if script in SCRIPT_LAYOUTS:
        return LAYOUTS[SCRIPT_LAYOUTS[script]].letters
    if script == "Common":
        return ()
    weighted = weighted_letters(script)
    if weighted is not None:
        return weighted
    return tuple(
        chr(c)
        for c in range(0x10000)
        if unicodedata.category(chr(c)) in ("Ll", "Lo") and script_of(chr(c)) == script and not attaches(chr(c))
    )


@cache
def letters_for(language: str, script: str, kind: str | None = None) -> tuple[str, ...]:
    """The letters a typist of ``language`` types in ``script`` (the language's layout when it is of that script).

    ``kind``: only letters of this kind (``orthography.kind_of``: a consonant for a
    consonant), or "start" for letters that may start a syllable.
    """
    own = LAYOUTS.get(language)
    if own is not None and own.script == script and script != "Hangul":
        return own.letters if kind is None else _of_kind(own.letters, kind)
    return script_letters(script, kind)


def _of_kind(letters: tuple[str, ...], kind: str) -> tuple[str, ...]:
    """``letters`` of one kind (see ``letters_for``); the same tuple when all are."""
    keep = starts_syllable if kind == "start" else lambda letter: kind_of(letter) == kind
    kept = tuple(letter for letter in letters if keep(letter))
    return letters if len(kept) == len(letters) else kept
