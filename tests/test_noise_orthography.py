"""Character edits keep each script's spelling rules (``noise/orthography.py``) and the cluster accounting.

The real-data test runs every character edit at rate 0.3 over real sentences of
ten scripts and counts clusters (and Thai seams) the rules forbid that the clean
text did not already have: there must be none. The fuzz test does the same over
generated text; the small cases are the fusions a careless edit makes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.noise import parse
from harness.noise.clusters import cluster_list
from harness.noise.orthography import RULES, may_follow, valid
from harness.noise.rng import DocRandom

CHAR_EDITS = ("typo", "substitute", "insert", "swap", "delete")
_X = regex.compile(r"\X")


def _faults(text: str, language: str) -> Counter[str]:
    """Clusters the rules forbid, and forbidden neighbours (``a|b``)."""
    units = cluster_list(text)
    out = Counter(u for u in units if not valid(u, language))
    out.update(f"{a}|{b}" for a, b in zip(["", *units], [*units, ""]) if not may_follow(a, b))
    return out


def _new_faults(texts: list[str], spec: str, language: str) -> Counter[str]:
    chain = parse(spec).bind(language)
    found: Counter[str] = Counter()
    for k, text in enumerate(texts):
        noisy = chain.perturb(text, DocRandom(k.to_bytes(8, "little")))
        found.update(_faults(noisy, language) - _faults(text, language))
    return found


def _tatoeba(data: Path, code: str) -> list[str]:
    return (data / "tatoeba" / "v1" / f"tatoeba.{code}-eng.{code}").read_text(encoding="utf-8").splitlines()


def _panx_sentences(data: Path, language: str) -> list[str]:
    sentences, tokens = [], []
    for line in (data / "panx" / f"dev-{language}.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip():
            tokens.append(line.split("\t")[0])
        elif tokens:
            sentences.append(" ".join(tokens))
            tokens = []
    return sentences


# language -> Tatoeba code (Yoruba, which Tatoeba lacks here, comes from PAN-X)
REAL = {
    "hi": "hin",
    "bn": "ben",
    "ta": "tam",
    "te": "tel",
    "th": "tha",
    "el": "ell",
    "vi": "vie",
    "ar": "ara",
    "he": "heb",
}


@pytest.fixture(scope="module")
def real_text(shared_data):
    texts = {lang: _tatoeba(shared_data, code)[:150] for lang, code in REAL.items()}
    texts["yo"] = _panx_sentences(shared_data, "yo")
    return texts


def test_the_rules_describe_real_text(real_text):
    """Rules that forbade real spellings would make the checks meaningless: clean text is (nearly) all valid."""
    for language, texts in real_text.items():
        clusters = sum(len(cluster_list(t)) for t in texts)
        faults = sum(sum(_faults(t, language).values()) for t in texts)
        assert faults <= 0.001 * clusters, (language, faults)


@pytest.mark.parametrize("name", CHAR_EDITS)
def test_character_edits_write_only_valid_spellings_in_real_text(real_text, name):
    for language, texts in real_text.items():
        assert not _new_faults(texts, f"{name}:0.3", language), (language, name)


def test_every_script_of_the_real_text_test_has_rules():
    for key in ("Devanagari", "Bengali", "Tamil", "Telugu", "Thai", "Greek", "vi", "yo", "Arabic", "Hebrew"):
        assert key in RULES


@pytest.mark.parametrize(
    ("cluster", "language", "ok"),
    [
        ("मैं", "hi", True),
        ("मैे", "hi", False),  # two vowel signs
        ("है्", "hi", False),  # virama after a vowel sign
        ("आे", "hi", False),  # vowel sign on an independent vowel
        ("क्षि", "hi", True),
        ("กี่", "th", True),
        ("กีี", "th", False),  # stacked vowels
        ("ά", "el", True),
        ("σ\u0301", "el", False),  # an accent on a consonant
        ("ấ", "vi", True),
        ("s\u0303", "vi", False),
        ("ẹ́", "yo", True),
        ("ń", "yo", True),
        ("p\u0300", "yo", False),
        ("بَّ", "ar", True),
        ("بَُ", "ar", False),  # two short vowels
        ("שׁ", "he", True),
        ("בׁ", "he", False),  # a shin dot on bet
    ],
)
def test_cluster_rules(cluster, language, ok):
    assert valid(cluster, language) is ok


def test_thai_leading_vowels_keep_their_consonant():
    assert may_follow("ไ", "ม่") and not may_follow("ไ", "ไ") and not may_follow("ไ", "")
    assert may_follow("ย่", "า") and not may_follow("", "า")


# --- the cluster accounting: an edit never fuses two clusters into one ---------------------------------


def _clusters_kept(spec: str, text: str, language: str = "hi") -> bool:
    chain = parse(spec).bind(language)
    before = Counter(_X.findall(text))
    for seed in range(20):
        after = Counter(_X.findall(chain.perturb(text, DocRandom(seed.to_bytes(8, "little")))))
        if spec.startswith(("swap", "merge")) and after != before:
            return False
        if spec.startswith("delete") and after - before:
            return False
    return True


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ("swap:1", "मान्"),  # न् + मा would become the conjunct न्मा
        ("swap:1", "가ᄀ"),  # a lone choseong before a syllable joins it
        ("swap:1", "കൎ"),  # a prepended mark before a letter joins it
        ("merge:1", "न् मा"),
        ("merge:1", "ൎ ക"),
        ("delete:1", "🇦ab🇧c"),  # deleting a and b would pair the regional indicators into a flag
    ],
)
def test_edits_never_fuse_clusters(spec, text):
    assert _clusters_kept(spec, text)


def test_typo_never_splits_a_conjunct_by_replacing_its_virama():
    chain = parse("typo:1").bind("hi")
    for seed in range(50):
        noisy = chain.perturb("क्ष त्र", DocRandom(seed.to_bytes(8, "little")))
        assert len(_X.findall(noisy)) == 3 and all(valid(c, "hi") for c in _X.findall(noisy)), noisy


# --- fuzz: generated text in the scripts of the rules ---------------------------------------------------

POOL = (
    list("तेज़ भूरी लोमड़ी क्ष त्रि मैं हैं आ") + ["\u094d", "\u093f", "\u0902", "\u0948"]
    + list("জ্ঞান কী") + list("தமிழ் க்ஷ") + list("తెలుగు క్క")
    + list("ไม่ได้ เกาะ กี่ น้ำ แล้ว") + ["\u0e48", "\u0e35", "\u0e33"]
    + list("Μαμά ΐ ώ ρ") + list("Con cáo nâu nhẹn ư ơ ấ") + list("Ilé-ìgbìmọ̀ ẹ́ ń")
    + list("بَّ الثعلب") + list("שָׁלוֹם") + [" ", "x"]
)  # fmt: skip
LANGUAGES = ("hi", "bn", "ta", "te", "th", "el", "vi", "yo", "ar", "he", "en")


@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.lists(st.sampled_from(POOL), max_size=30).map("".join),
    name=st.sampled_from(CHAR_EDITS),
    language=st.sampled_from(LANGUAGES),
    seed=st.integers(0, 2**32),
)
def test_fuzz_character_edits_keep_the_rules(text, name, language, seed):
    noisy = parse(f"{name}:0.5").bind(language).perturb(text, DocRandom(seed.to_bytes(8, "little")))
    # generated text has faults of its own (a lone mark): an edit may change one, never add one
    assert sum(_faults(noisy, language).values()) <= sum(_faults(text, language).values()), (text, noisy)
