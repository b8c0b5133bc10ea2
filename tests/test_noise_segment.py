"""Words are words: Chinese, Japanese and Thai word noise and WER work on segmenter words (``noise/segment.py``)."""

from __future__ import annotations

import sys

import pytest
from test_noise_structure import tagged_sentences

from harness.noise import NoiseError, error_rates, parse, perturb_examples, segment
from harness.noise.text import Words, word_list


def test_runs_without_spaces_are_segmented_into_words():
    assert Words.of_text("我昨天没有去学校。", "zh").words == ["我", "昨天", "没有", "去", "学校", "。"]
    assert word_list("ผมไม่ได้ไปโรงเรียน เมื่อวานนี้", "th") == ["ผม", "ไม่", "ได้", "ไป", "โรงเรียน", "เมื่อวาน", "นี้"]
    assert "学校" in word_list("私は昨日学校に行った", "ja")
    words = Words.of_text("Er sagte 你好世界 laut", "zh")
    assert words.text() == "Er sagte 你好世界 laut" and words.words == ["Er", "sagte", "你好", "世界", "laut"]
    assert word_list("你好世界", "de") == list("你好世界")  # other languages: one word per cluster


def test_a_word_rate_means_the_same_share_of_words_in_every_xnli_language(shared_data):
    for path in sorted((shared_data / "xnli").glob("dev-*.tsv")):
        language = path.stem.split("-")[1]
        rows = path.read_text(encoding="utf-8").splitlines()[:250]
        examples = [{"id": str(i), "index": i, "text": r.split("\t")[0], "target": 0} for i, r in enumerate(rows)]
        noisy = perturb_examples(
            examples, parse("drop:0.1+protect=none"), task="xnli", task_type="classification", fields=["text"],
            language=language, seed=0,
        )  # fmt: skip
        wer = error_rates(examples, noisy, ["text"], "classification", language=language)["wer"]
        assert 8 <= wer <= 12, (language, wer)


def test_a_missing_segmenter_is_a_clear_error(monkeypatch):
    segment._segmenter.cache_clear()
    segment.split_run.cache_clear()
    monkeypatch.setitem(sys.modules, "jieba", None)
    try:
        with pytest.raises(
            NoiseError, match=r"segment words with jieba.*pip install 'xtreme-noise-harness\[segment\]'"
        ):
            parse("drop:0.1").bind("zh").perturb("我昨天没有去学校", random_bytes())
    finally:
        segment._segmenter.cache_clear()
        segment.split_run.cache_clear()


def random_bytes():
    from harness.noise.rng import DocRandom

    return DocRandom(b"seed")


def test_a_word_rate_means_the_same_share_of_droppable_words_in_every_panx_language(shared_data):
    """PAN-X: words outside gold entities may be dropped; a Chinese or Japanese word goes with all its tokens."""
    from rapidfuzz.distance import Levenshtein

    from harness.noise.measure import _sentence
    from harness.noise.spec import token_words
    from harness.noise.structure import entity_tokens

    for path in sorted((shared_data / "panx").glob("dev-*.tsv")):
        language = path.stem.split("-")[1]
        clean = tagged_sentences(path)[:300]
        edits = droppable = seed = 0
        while droppable < 3000:  # enough words that the share is within 2 points (Yoruba's dev set is small)
            noisy = perturb_examples(
                clean, parse("drop:0.1"), task="panx", task_type="tagging", fields=["tokens"], language=language,
                seed=seed,
            )  # fmt: skip
            for c, n in zip(clean, noisy):
                frozen = entity_tokens(c["target"])
                groups = token_words(c["tokens"], language)
                droppable += sum(not any(i in frozen for i in range(a, b)) for a, b in groups)
                before, after = (word_list(_sentence(e["tokens"]), language) for e in (c, n))
                edits += Levenshtein.distance(before, after)
            seed += 1
        assert 8 <= 100 * edits / droppable <= 12, (language, 100 * edits / droppable)
