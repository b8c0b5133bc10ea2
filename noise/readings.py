"""Readings of scripts typed through an input method: Chinese by pinyin, Japanese kana by romaji.

Nobody types a Chinese character with a key of its own: a typist types its
reading and picks among the characters that have it, so a slip is a homophone
(the wrong candidate) or the character of a reading one key away (``shi`` typed
``shu``), and it is always a character in common use. Japanese kana are typed
as romaji, so a slip turns ``ka`` into ``ki``/``ko``/``ga``-like neighbours
through the QWERTY keys around each letter. This module holds the readings;
``keyboards.py``, which has the keys, makes the slips.

The Chinese table ships with the package (``data/zh_readings.tsv``: the 6,000
most frequent characters of jieba's MIT-licensed dictionary, character
frequencies summed over its words, each with its first pinyin reading from
pypinyin, MIT), so the noise needs neither library at run time and cannot change
with their versions. ``python -m harness.noise.readings`` rebuilds it (needs the
``cjk`` extra). Candidates are repeated by frequency class (1 to 7 times by the
log of their frequency), so a frequent character is picked more often, the way
an input method lists it first.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from functools import cache
from importlib import resources
from pathlib import Path

#: languages typed through an input method modelled here, and how
INPUT_METHODS = {
    "zh": "pinyin: homophones and readings one key away, characters in common use weighted by frequency",
    "ja": "romaji: kana one key slip away; kanji as a frequent Han character",
}
TABLE = "zh_readings.tsv"
TABLE_SIZE = 6000

# Hepburn-like romaji of the basic hiragana (what a romaji input method turns into kana)
_KANA_ROMAJI = (
    "あa いi うu えe おo かka きki くku けke こko さsa しshi すsu せse そso たta ちchi つtsu てte とto "
    "なna にni ぬnu ねne のno はha ひhi ふfu へhe ほho まma みmi むmu めme もmo やya ゆyu よyo "
    "らra りri るru れre ろro わwa をwo んnn がga ぎgi ぐgu げge ごgo ざza じji ずzu ぜze ぞzo "
    "だda ぢdi づdu でde どdo ばba びbi ぶbu べbe ぼbo ぱpa ぴpi ぷpu ぺpe ぽpo"
)


def _rows() -> list[tuple[str, str, int]]:
    text = (resources.files(__package__) / "data" / TABLE).read_text(encoding="utf-8")
    return [(c, r, int(f)) for c, r, f in (line.split("\t") for line in text.splitlines() if line)]


def _weight(frequency: int, least: int) -> int:
    return 1 + min(6, int(math.log2(frequency / least)) // 2)


@cache
def common_han() -> tuple[str, ...]:
    """Chinese characters in common use, each repeated by frequency class: what a random Han edit types."""
    rows = _rows()
    least = rows[-1][2]
    return tuple(c for c, _, f in rows for _ in range(_weight(f, least)))


@cache
def characters_by_reading() -> dict[str, tuple[str, ...]]:
    """Toneless pinyin syllable -> its characters, repeated by frequency class."""
    rows = _rows()
    least = rows[-1][2]
    out: dict[str, list[str]] = {}
    for char, reading, frequency in rows:
        out.setdefault(reading.rstrip("012345"), []).extend([char] * _weight(frequency, least))
    return {k: tuple(v) for k, v in out.items()}


@cache
def _reading_of() -> dict[str, str]:
    return {c: r.rstrip("012345") for c, r, _ in _rows()}


def pinyin_reading(char: str) -> str | None:
    """The toneless pinyin of a Chinese character in common use (None for others)."""
    return _reading_of().get(char)


@cache
def kana_romaji() -> dict[str, str]:
    """Kana (hiragana and katakana) -> the romaji typed for it."""
    pairs = {item[0]: item[1:] for item in _KANA_ROMAJI.split()}
    # katakana sit 0x60 above their hiragana
    pairs.update({chr(ord(k) + 0x60): r for k, r in list(pairs.items())})
    return pairs


def build_table(path: Path) -> None:
    """Write ``data/zh_readings.tsv`` from jieba's dictionary and pypinyin (the ``cjk`` extra)."""
    import jieba
    from pypinyin import Style, pinyin

    frequency: Counter[str] = Counter()
    dictionary = Path(jieba.__file__).with_name("dict.txt")
    for line in dictionary.read_text(encoding="utf-8").splitlines():
        word, times = line.split()[:2]
        for char in word:
            if "\u4e00" <= char <= "\u9fff":
                frequency[char] += int(times)
    rows = []
    for char, count in frequency.most_common(TABLE_SIZE):
        reading = pinyin(char, style=Style.TONE3, neutral_tone_with_five=True)[0][0]
        if reading.isascii() and reading.isalnum():
            rows.append(f"{char}\t{reading}\t{count}\n")
    path.write_text("".join(rows), encoding="utf-8")


if __name__ == "__main__":
    build_table(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("data") / TABLE)
