"""Property tests (hypothesis) for the perturbation catalogue, over arbitrary Unicode text in many scripts.

Example counts stay modest (the suite shares two CPU cores); ``derandomize``
makes every run draw the same examples, so these tests never flake.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein

from harness.noise import REGISTRY, parse
from harness.noise.clusters import attaches, cluster_list, segment, starts
from harness.noise.rng import DocRandom
from harness.noise.text import Words

PROPERTY = settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_X = regex.compile(r"\X")

# Building blocks of text in many scripts: letters, combining and spacing marks, viramas,
# conjoining jamo, ZWJ emoji, flags, controls, CR LF.
POOL = (
    list("The quick brown fox, DER Fuchs; élan ñ ß İı 12 ?!")
    + ["e\u0301", "a\u0308", "\u0301", "\u0323", "\r\n", "\n", "\t", " ", "\u00a0"]
    + list("быстрая лиса ЁЙ")
    + list("γρήγορη ΑΛΕΠΟΥ ά")
    + list("الثعلب البني")
    + ["\u064e", "\u0651", "\u0600", "\u06dd"]
    + list("שָׁלוֹם")
    + list("तेज़ भूरी लोमड़ी क्ष त्रि")
    + ["\u094d", "\u093f", "\u0902", "\u200d", "\u200c"]
    + list("জ্ঞান")
    + list("จิ้งจอกสีน้ำตาล")
    + list("敏捷的棕色狐狸。、")
    + list("素早いカタカナ")
    + list("빠른 갈색 여우")
    + ["\u1100", "\u1161", "\u11a8"]
    + ["👍", "🏽", "👨\u200d👩\u200d👧", "🇩🇪", "🇫", "\U00020000"]
    + list("Con cáo nâu nhanh nhẹn ư ơ")
)
TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(st.sampled_from(POOL), max_size=40).map("".join),
)
LANGUAGES = ("en", "de", "fr", "tr", "ru", "bg", "el", "ar", "fa", "he", "hi", "th", "ko", "vi", "zh", "ja", "ur", "sw")
DICT = str(Path(__file__).parent / "fixtures" / "muse" / "{lang}-en.txt")


def _spec(name: str, rate: float) -> str:
    return f"codeswitch:{rate}:dict={DICT}" if name == "codeswitch" else f"{name}:{rate}"


def _chain(name: str, rate: float, lang: str):
    lang = "de" if name == "codeswitch" else "en" if name == "misspell" else lang  # (the languages with a list)
    return parse(_spec(name, rate)).bind(lang)


def _orphans(text: str) -> int:
    """Clusters that start with a mark: what a bad edit would leave behind."""
    return sum(1 for c in _X.findall(text) if attaches(c[0]))


NAMES = sorted(REGISTRY)
REARRANGING = {"swap", "delete", "drop", "shuffle", "repeat", "merge", "split"}


@PROPERTY
@given(text=TEXT, name=st.sampled_from(NAMES), lang=st.sampled_from(LANGUAGES), seed=st.integers(0, 2**32))
def test_no_perturbation_raises_and_output_is_a_function_of_text_and_seed(text, name, lang, seed):
    chain = _chain(name, 0.5, lang)
    first = chain.perturb(text, DocRandom(seed.to_bytes(8, "little")))
    again = chain.perturb(text, DocRandom(seed.to_bytes(8, "little")))
    assert isinstance(first, str) and first == again


@PROPERTY
@given(text=TEXT, name=st.sampled_from(NAMES), lang=st.sampled_from(LANGUAGES))
def test_rate_zero_is_the_identity(text, name, lang):
    assert _chain(name, 0.0, lang).perturb(text, random.Random(0)) == text


@PROPERTY
@given(text=TEXT, name=st.sampled_from(NAMES), lang=st.sampled_from(LANGUAGES), seed=st.integers(0, 1000))
def test_grapheme_clusters_stay_intact(text, name, lang, seed):
    """No edit leaves a mark without its base; moving and deleting only moves and deletes whole clusters."""
    out = _chain(name, 0.5, lang).perturb(text, DocRandom(str(seed).encode()))
    assert _orphans(out) <= _orphans(text)
    if name in REARRANGING:
        assert set(_X.findall(out)) <= set(_X.findall(text)) | {" "}


@PROPERTY
@given(texts=st.lists(TEXT, max_size=8), lang=st.sampled_from(LANGUAGES), name=st.sampled_from(["typo", "homoglyph"]))
def test_vectorised_batch_equals_one_by_one(texts, lang, name):
    chain = _chain(name, 0.6, lang)
    rngs = lambda: [DocRandom(bytes([i])) for i in range(len(texts))]  # noqa: E731
    assert chain.perturb_batch(texts, rngs()) == [chain.perturb(t, r) for t, r in zip(texts, rngs())]


@PROPERTY
@given(text=TEXT)
def test_fast_segmentation_equals_regex_grapheme_clusters(text):
    assert cluster_list(text) == _X.findall(text)
    units, _ = segment(text)
    assert "".join(units) == text


@PROPERTY
@given(
    texts=st.lists(st.lists(st.sampled_from(POOL[:200]), min_size=1, max_size=30).map("".join), min_size=1, max_size=6)
)
def test_vectorised_cluster_starts_equal_regex(texts):
    import numpy as np

    from harness.noise.clusters import is_regular

    texts = [t for t in texts if is_regular(t)]
    if not texts:
        return
    code_points = np.frombuffer("".join(texts).encode("utf-32-le"), dtype="<u4")
    lengths = np.array([len(t) for t in texts])
    found = starts(code_points, np.cumsum(lengths) - lengths)
    expected = []
    for t in texts:
        flags = [False] * len(t)
        at = 0
        for c in _X.findall(t):
            flags[at] = True
            at += len(c)
        expected += flags
    assert found.tolist() == expected


@PROPERTY
@given(text=TEXT)
def test_words_give_back_the_exact_text(text):
    assert Words.of_text(text).text() == text


# Long texts of eligible clusters in one script: the applied CER converges to the rate.
SCRIPT_TEXT = {
    "en": "abcdefghijklmnopqrstuvwxyz",
    "ru": "абвгдежзийклмнопрстуфхцчшщыэюя",
    "el": "αβγδεζηθικλμνξοπρστυφχψω",
    "ar": "ضصثقفغعهخحجدشسيبلاتنمكط",
    "hi": ["क", "कि", "ख", "गु", "त्र", "प", "रा", "से", "न", "ल"],
    "th": ["ก", "กิ", "ข", "ค", "ดู", "ต", "น้", "ม", "ส"],
    "ko": "가나다라마바사아자차카타파하",
    "zh": "的一是不了人我在有他这中大来上",
}
TOLERANCE = 0.03  # absolute, on texts of 3,000 clusters: more than five standard deviations at these rates


@settings(max_examples=12, derandomize=True, deadline=None)
@given(
    lang=st.sampled_from(sorted(SCRIPT_TEXT)),
    name=st.sampled_from(["typo", "substitute", "delete", "insert", "swap"]),
    rate=st.sampled_from([0.05, 0.1, 0.2]),
    seed=st.integers(0, 1000),
)
def test_applied_cer_is_close_to_the_rate_on_long_text(lang, name, rate, seed):
    letters = SCRIPT_TEXT[lang]
    pick = random.Random(seed)
    clean = [pick.choice(letters) for _ in range(3000)]
    noisy = cluster_list(_chain(name, rate, lang).perturb("".join(clean), DocRandom(str(seed).encode())))
    cer = Levenshtein.distance(clean, noisy) / len(clean)
    assert abs(cer - rate) <= TOLERANCE, (cer, rate)


def test_rates_nest_under_the_same_seed():
    """typo:0.05 edits a subset of the clusters typo:0.1 edits (the generator key ignores rates)."""
    text = "the quick brown fox jumps over the lazy dog " * 20
    low = parse("typo:0.05").bind("en").perturb(text, DocRandom(b"k"))
    high = parse("typo:0.1").bind("en").perturb(text, DocRandom(b"k"))
    changed = lambda out: {i for i, (a, b) in enumerate(zip(text, out)) if a != b}  # noqa: E731
    assert changed(low) and changed(low) <= changed(high)
    assert Counter(low) != Counter(high)
