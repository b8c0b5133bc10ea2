"""The perturbation catalogue: keyboard facts, what each perturbation does, spec parsing and its errors."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from harness.noise import REGISTRY, NoiseError, parse, parse_conditions
from harness.noise.clusters import cluster_list
from harness.noise.keyboards import LAYOUTS, Keyboard, layout_variants
from harness.noise.readings import pinyin_reading
from harness.noise.rng import DocRandom, RngKeys, picks
from harness.noise.text import Words, word_list

MUSE = Path(__file__).parent / "fixtures" / "muse"
ISSUE_LANGUAGES = (
    "en",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "tr",
    "ru",
    "uk",
    "bg",
    "el",
    "ar",
    "he",
    "fa",
    "hi",
    "th",
    "ko",
    "vi",
)


def _run(spec: str, text: str, lang: str = "en", seed: int = 0) -> str:
    return parse(spec).bind(lang).perturb(text, DocRandom(str(seed).encode()))


# ------------------------------------------------------------------ keyboards


def test_every_language_of_the_issue_has_a_layout():
    assert set(ISSUE_LANGUAGES) <= set(LAYOUTS)


@pytest.mark.parametrize(
    ("lang", "key", "neighbours"),
    [
        ("en", "s", {"w", "e", "a", "d", "z", "x"}),
        ("en", "S", {"W", "E", "A", "D", "Z", "X"}),
        ("de", "z", {"t", "u", "g", "h"}),  # QWERTZ: z sits where y is on QWERTY
        ("fr", "a", {"z", "q", "é"}),  # AZERTY; é is on the number row above
        ("ru", "к", {"у", "е", "в", "а"}),
        ("el", "α", {"σ", "ς", "ζ"}),
        ("hi", "क", {"ग", "द", "र", "त", "स"}),  # InScript: letters next to letters only
        ("hi", "\u093f", {"\u0940", "\u0942", "\u094d", "\u0941"}),  # vowel signs next to vowel signs
        ("th", "ก", {"ห", "ด", "พ", "ป", "แ"}),  # not ำ above it: a vowel sign
        ("ko", "ㅅ", {"ㄱ", "ㅛ", "ㄹ", "ㅎ"}),
        ("ar", "ب", {"ي", "ل", "ق", "ف", "ؤ", "ر"}),
        ("he", "ש", {"ד", "ז"}),
    ],
)
def test_keyboard_neighbours_follow_the_layout(lang, key, neighbours):
    assert set(LAYOUTS[lang].near[key]) == neighbours


def test_accented_letters_keep_their_accent_and_hangul_is_recomposed():
    assert "ẃ" in layout_variants(LAYOUTS["de"], "é")  # the dead key was right, the letter wrong
    variants = layout_variants(LAYOUTS["ko"], "한")  # ㅎ ㅏ ㄴ: each jamo may slip to a neighbour of its kind
    assert {"산", "란", "헌", "함"} <= set(variants) and all(0xAC00 <= ord(v) <= 0xD7A3 for v in variants)
    assert set(layout_variants(LAYOUTS["vi"], "á")) >= {"ã", "a"}  # Telex: s next to x (tilde), z clears


def test_fallbacks_for_languages_without_a_layout():
    assert set(Keyboard("sw").variants("a")) == set(LAYOUTS["en"].near["a"])  # Latin script: US QWERTY
    assert Keyboard("mr").variants("क") == LAYOUTS["hi"].near["क"]  # Devanagari: InScript
    han = Keyboard("ko").variants("中")  # Han without an input method: a frequent character
    assert len(set(han)) == 6000 - 1 and Counter(han)["的"] > Counter(han)["枡"]
    assert Keyboard("sw").variants("ے")  # a letter on no layout here: a random Arabic-script letter
    bengali = Keyboard("bn").variants("ক")  # no Bengali layout: letters of real Bengali text, by frequency
    assert Counter(bengali)["র"] > Counter(bengali)["ঞ"] > 0 and "ৠ" not in bengali
    assert Keyboard("en").variants("7") == ()  # digits and punctuation are not typo targets


def test_input_methods_for_chinese_and_japanese_and_layouts_for_urdu_and_persian():
    assert {pinyin_reading(c) for c in Keyboard("zh").variants("中")} == {"zhong"}  # no reading one key away
    near = set(Keyboard("zh").variants("是"))  # shi: homophones, and zhi/shu/... one key away
    assert {pinyin_reading(c) for c in near} == {"shi", "shu", "sui", "zhi"} and len(near) > 50
    assert set(Keyboard("ja").variants("か")) == {"ま"} and set(Keyboard("ja").variants("キ")) == {
        "ジ",
        "ク",
        "コ",
        "ミ",
    }
    assert parse("typo:0.1:strict").bind("zh") and parse("typo:0.1:strict").bind("ur")
    assert set(LAYOUTS["ur"].near["ب"]) == {"ت", "ج", "ا", "ک"} and set(LAYOUTS["fa"].near["ب"]) >= {"ی", "ل"}


def test_chinese_typos_are_homophone_style_and_occur_in_chinese_text(shared_data):
    rows = (shared_data / "xnli" / "dev-zh.tsv").read_text(encoding="utf-8").splitlines()
    texts = [row.split("\t")[0] for row in rows[:400]]
    seen = {c for row in rows for c in row}  # the characters of XNLI-zh dev
    chain = parse("typo:0.2").bind("zh")
    same = near = total = 0
    for k, text in enumerate(texts):
        noisy = chain.perturb(text, DocRandom(k.to_bytes(8, "little")))
        for a, b in zip(text, noisy):
            if a != b and "\u4e00" <= a <= "\u9fff":
                total += 1
                same += pinyin_reading(a) == pinyin_reading(b)
                near += b in seen
    assert total > 1000 and same / total > 0.5 and near / total > 0.5  # a random CJK character: 0% and 11%


def test_the_shipped_reading_table_is_what_its_builder_writes(tmp_path):
    pytest.importorskip("jieba")
    pytest.importorskip("pypinyin")
    from harness.noise import readings

    readings.build_table(tmp_path / "table.tsv")
    shipped = Path(readings.__file__).with_name("data") / readings.TABLE
    assert (tmp_path / "table.tsv").read_text(encoding="utf-8") == shipped.read_text(encoding="utf-8")


def test_strict_layout_is_an_error_for_a_language_without_one():
    assert parse("typo:0.1:strict").bind("de").perturbations[0].keyboard.own is LAYOUTS["de"]
    with pytest.raises(NoiseError, match="language 'sw' has no keyboard layout.*Drop :strict"):
        parse("typo:0.1:strict").bind("sw")
    with pytest.raises(NoiseError, match="no keyboard layout 'xx'"):
        parse("typo:0.1:layout=xx")


# ------------------------------------------------------------------ perturbations


def test_catalogue_covers_the_issue():
    assert set(REGISTRY) == {
        "typo", "swap", "delete", "insert", "substitute", "diacritics", "homoglyph",
        "drop", "repeat", "shuffle", "split", "merge", "case", "punct", "translit", "codeswitch", "misspell",
    }  # fmt: skip


def test_misspell_draws_natural_english_misspellings_and_says_when_a_language_has_no_list():
    from harness.noise.misspell import misspellings

    table = misspellings("en")
    assert "recieve" in table["receive"] and "teh" in table["the"] and len(table) > 10000
    text = "The government will receive their letter because it is necessary."
    noisy = parse("misspell:1").bind("en").perturb(text, DocRandom(b"x"))
    assert noisy != text and len(noisy.split()) == len(text.split())
    for old, new in zip(text.split(), noisy.split()):
        core = old.strip(".").lower()
        assert old == new or new.strip(".").lower() in table[core]
    assert noisy.split()[0][0].isupper() and noisy.endswith(".")
    with pytest.raises(NoiseError, match="no list of natural misspellings for 'de'.*Use typo"):
        parse("misspell:0.1").bind("de")


def test_character_edits_stay_in_the_script():
    text = "быстрая коричневая лиса прыгает через ленивую собаку " * 5
    for name in ("insert", "substitute", "typo"):
        out = _run(f"{name}:0.3", text, "ru")
        assert out != text and all(c == " " or "\u0400" <= c <= "\u04ff" for c in out), name


def test_devanagari_clusters_are_units():
    text = "क्षत्रिय राजा "
    out = _run("swap:1", text, "hi")
    assert sorted(cluster_list(out)) == sorted(cluster_list(text))
    assert _run("delete:0.5", "क्षत्रिय", "hi", seed=1) in ("क्ष", "त्रि", "य", "क्षत्रि", "क्षय", "त्रिय", "क्षत्रिय")


def test_diacritics_strip_optional_marks_only():
    assert _run("diacritics", "Crème brûlée à Hà Nội") == "Creme brulee a Ha Noi"
    assert _run("diacritics", "ёлка и йод") == "елка и иод"
    assert _run("diacritics", "مُحَمَّد", "ar") == "محمد"
    assert _run("diacritics", "ज़रूर", "hi") == "जरूर"  # the nukta goes, the vowel signs stay
    assert _run("diacritics", "ที่นี่", "th") == "ที่นี่"  # Thai tone marks are not optional


def test_homoglyphs_look_alike():
    out = _run("homoglyph:1", "paypal")
    assert out != "paypal" and len(out) == 6
    assert all(c in "pаyаlрɑαáàâäåāăąǎȁȃȧạảấầẩẫậắằẳẵặýÿŷỳỵỷỹẏplĺľļŀłḷḹḻḽ" or c.isalpha() for c in out)


def test_case_punct_and_translit():
    assert _run("case:1:to=upper", "Hello big World") == "HELLO BIG WORLD"
    assert _run("case:1", "مرحبا بالعالم", "ar") == "مرحبا بالعالم"  # no case in Arabic
    assert _run("punct:1", "Hello, world!") == "Hello world"
    assert _run("punct:1", "敏捷的狐狸", "zh") != "敏捷的狐狸"
    assert _run("translit", "Привет, мир!", "ru") == "Privet, mir!"
    assert _run("translit", "hello мир", "ru") == "hello mir"


def test_word_edits():
    text = "one two three four five six seven eight nine ten"
    assert len(word_list(_run("drop:0.5", text))) < 10
    assert _run("drop:1", "alone") == "alone"  # never every word
    assert len(word_list(_run("repeat:0.5", text))) > 10
    shuffled = _run("shuffle:1", text)
    assert sorted(word_list(shuffled)) == sorted(word_list(text)) and shuffled != text
    assert len(word_list(_run("split:1", text))) > 10
    assert len(word_list(_run("merge:1", text))) < 10
    assert _run("drop:0.5", "敏捷的棕色狐狸", "zh") != "敏捷的棕色狐狸"  # characters are the word units


def test_words_roundtrip_and_units():
    text = "  Hello, 世界! नमस्ते\tdünya  "
    words = Words.of_text(text)
    assert words.text() == text and words.words == ["Hello,", "世", "界", "!", "नमस्ते", "dünya"]


def test_codeswitch_translates_from_a_muse_dictionary():
    spec = f"codeswitch:1:dict={MUSE}/{{lang}}-en.txt"
    assert _run(spec, "Das Essen war toll.", "de") == "The food was great."
    assert _run(spec, "北京的狐狸", "zh") == "beijing的fox"  # longest dictionary match over characters


def test_codeswitch_dictionary_errors(tmp_path):
    with pytest.raises(NoiseError, match="codeswitch needs a dictionary"):
        parse("codeswitch:0.3")
    with pytest.raises(NoiseError, match=r"dictionary file .*missing-en.txt \(for language 'en'\) does not exist"):
        parse(f"codeswitch:0.3:dict={tmp_path}/missing-en.txt")
    with pytest.raises(NoiseError, match=r"for language 'fr'\) does not exist"):
        parse(f"codeswitch:0.3:dict={MUSE}/{{lang}}-en.txt").bind("fr")
    bad = tmp_path / "de-en.txt"
    bad.write_text("Haus house\nthis line has three\n", encoding="utf-8")
    with pytest.raises(NoiseError, match=r"de-en.txt:2: a MUSE dictionary line is `source target`"):
        parse(f"codeswitch:0.3:dict={bad}")


# ------------------------------------------------------------------ specs


def test_canonical_names_and_composition():
    assert str(parse("typo")) == "typo:0.1"
    assert str(parse(" typo:0.10 + drop:0.05 ")) == "typo:0.1+drop:0.05"
    assert str(parse("typo:0.2:strict=false:layout=de")) == "typo:0.2:layout=de"
    assert str(parse("typo:0.2+fields=text_pair+answers=protect")) == "typo:0.2+fields=text_pair+answers=protect"
    assert parse("typo:0.05").rng_key == parse("typo:0.2").rng_key == "typo"
    assert [str(s) for s in parse_conditions(["typo:0.05,typo:0.1", "typo:0.1", "drop"])] == [
        "typo:0.05",
        "typo:0.1",
        "drop:0.1",
    ]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("typo:abc", r"the rate 'abc' is not a number; write e.g. typo:0.1"),
        ("typo:1.5", r"the rate 1.5 must be between 0 and 1"),
        ("tpyo:0.1", r"Unknown perturbation 'tpyo'. Did you mean 'typo'\?"),
        ("typo:0.1:layot=de", r"typo has no parameter 'layot'. Did you mean 'layout'\?"),
        ("typo:0.1:strict=maybe", r"expected true or false"),
        ("typo:0.1:0.2", r"'0.2' is neither the rate"),
        ("typo+answers=maybe", r"answers= takes relocate or protect"),
        ("", r"Empty noise spec"),
        ("fields=text", r"has no perturbation"),
        ("case:0.1:to=sideways", r"expected random, lower, upper or title"),
    ],
)
def test_bad_specs_are_clear_errors(spec, message):
    with pytest.raises(NoiseError, match=message):
        parse(spec)


# ------------------------------------------------------------------ generators


def test_generators_are_keyed_by_seed_spec_task_language_doc_and_field():
    keys = RngKeys(0, "typo", "xnli_de", "de")
    first = keys.rng("17", "text").randbytes(16)
    assert first == RngKeys(0, "typo", "xnli_de", "de").rng("17", "text").randbytes(16)
    others = [
        RngKeys(1, "typo", "xnli_de", "de").rng("17", "text"),
        RngKeys(0, "drop", "xnli_de", "de").rng("17", "text"),
        RngKeys(0, "typo", "xnli_fr", "de").rng("17", "text"),
        RngKeys(0, "typo", "xnli_de", "fr").rng("17", "text"),
        keys.rng("18", "text"),
        keys.rng("17", "text_pair"),
    ]
    assert all(o.randbytes(16) != first for o in others)


def test_doc_random_streams_bytes_and_floats():
    rng = DocRandom(b"key")
    stream = rng.randbytes(5) + rng.randbytes(100) + rng.randbytes(1)
    assert stream == DocRandom(b"key").randbytes(106) != DocRandom(b"other").randbytes(106)
    values = [rng.random() for _ in range(1000)]
    assert all(0 <= v < 1 for v in values) and 0.45 < sum(values) / 1000 < 0.55


def test_picks_rate_is_exact_on_average():
    hits = sum(len(picks(random.Random(i), 1000, 0.1)) for i in range(50))
    assert 4700 < hits < 5300
    assert picks(random.Random(0), 10, 1.0) and len(picks(random.Random(0), 10, 1.0)) == 10
    assert picks(random.Random(0), 10, 0.0) == []


def test_the_shipped_letter_frequencies_are_what_their_builder_writes(shared_data, tmp_path):
    from harness.noise import frequencies

    frequencies.build_table(shared_data, tmp_path / "letters.tsv")
    shipped = Path(frequencies.__file__).with_name("data") / frequencies.TABLE
    assert (tmp_path / "letters.tsv").read_text(encoding="utf-8") == shipped.read_text(encoding="utf-8")
