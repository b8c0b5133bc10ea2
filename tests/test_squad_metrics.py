"""SQuAD v1.1, MLQA and SQuAD v2.0 EM/F1 on hand-computed cases, official quirks pinned."""

from __future__ import annotations

import math

import pytest

from harness.errors import SpecError
from harness.metrics import QA_SCORE, compute, headline, task_score
from harness.metrics.squad import mixed_segmentation, mlqa, mlqa_normalizer, normalize_squad, squad, squad_v2


def one(metric, gold: list[str], prediction: str, **kwargs) -> tuple[float, float]:
    scores = metric([gold], [prediction], **kwargs)
    return scores["exact_match"], scores["f1"]


# ----------------------------------------------------------------------------- SQuAD v1.1 (XQuAD, TyDiQA)


def test_squad_normalisation_lowercases_drops_ascii_punctuation_and_english_articles():
    assert normalize_squad("The  Eiffel-Tower, (Paris)!") == "eiffeltower paris"
    assert normalize_squad("An apple a day") == "apple day"
    assert one(squad, ["Eiffel Tower"], "the Eiffel Tower!") == (100.0, 100.0)


def test_squad_f1_is_bag_of_tokens_and_the_best_gold_answer_counts():
    # pred [in, paris, france]; gold 1 [paris]: P 1/3, R 1, F1 0.5; gold 2 [france, in, 1889]: P = R = 2/3
    em, f1 = one(squad, ["Paris", "France in 1889"], "in Paris, France")
    assert em == 0.0
    assert f1 == pytest.approx(100 * 2 / 3, abs=1e-12)
    # two questions: the second is pred [paris] vs gold [paris, texas]: P 1, R 1/2, F1 2/3
    scores = squad([["Eiffel Tower"], ["Paris Texas"]], ["Eiffel Tower", "Paris"])
    assert scores["exact_match"] == 50.0
    assert scores["f1"] == pytest.approx(100 * (1 + 2 / 3) / 2, abs=1e-12)


def test_squad_keeps_non_ascii_punctuation_and_non_english_articles():
    assert one(squad, ["Paris"], "«Paris»") == (0.0, 0.0)
    # pred [der, hund] vs gold [hund]: P 1/2, R 1 -> F1 2/3
    em, f1 = one(squad, ["Hund"], "der Hund")
    assert em == 0.0 and f1 == pytest.approx(100 * 2 / 3, abs=1e-12)


def test_squad_empty_prediction_quirks():
    # a plain empty prediction: EM 0, F1 0
    assert one(squad, ["Paris"], "") == (0.0, 0.0)
    # a gold answer that normalises to nothing matches the empty prediction for EM, never for F1
    assert one(squad, ["The"], "") == (100.0, 0.0)
    # EM and F1 take their maxima independently: "the" ~ "an" for EM (both normalise to ""), F1 0 everywhere
    assert one(squad, ["an", "the cat"], "the") == (100.0, 0.0)


def test_squad_sums_over_questions_then_scales_like_the_official_script():
    scores = squad([["a b"], ["c d"], ["e"]], ["a b", "c", "x"])  # EM 1, 0, 0; F1 1, 2/3, 0
    assert scores == {"exact_match": 100.0 * 1 / 3, "f1": 100.0 * (1 + (2 * 1.0 * 0.5) / (1.0 + 0.5)) / 3}


def test_squad_unlabelled_split_scores_nan_and_a_missing_gold_answer_is_an_error():
    scores = squad([[], []], ["x", ""])
    assert math.isnan(scores["exact_match"]) and math.isnan(scores["f1"])
    with pytest.raises(SpecError, match="squad_v2"):
        squad([["Paris"], []], ["Paris", ""])
    with pytest.raises(ValueError):
        squad([["Paris"]], [])


# ----------------------------------------------------------------------------- MLQA


def test_mlqa_english_and_unicode_punctuation():
    assert one(mlqa, ["Beatles"], "The Beatles", language="en") == (100.0, 100.0)
    assert one(mlqa, ["Paris"], "«Paris»", language="en") == (100.0, 100.0)  # v1.1 scores this 0


def test_mlqa_spanish_articles():
    assert one(mlqa, ["Beatles"], "los Beatles", language="es") == (100.0, 100.0)
    assert one(mlqa, ["Palmas"], "Las Palmas", language="es") == (100.0, 100.0)  # even inside names
    # "el" is an article only as a whole word: pred [elefante], gold [elefante, grande] -> F1 2/3
    em, f1 = one(mlqa, ["el elefante grande"], "elefante", language="es")
    assert em == 0.0 and f1 == pytest.approx(100 * 2 / 3, abs=1e-12)


def test_mlqa_german_articles():
    assert one(mlqa, ["Kaisers"], "des Kaisers", language="de") == (100.0, 100.0)
    assert one(mlqa, ["Zeit"], "Die Zeit", language="de") == (100.0, 100.0)
    assert mlqa_normalizer("de")("Der Dernier") == "dernier"  # "der" only as a whole word


def test_mlqa_vietnamese_articles():
    assert mlqa_normalizer("vi")("Của Việt Nam") == "việt nam"
    assert one(mlqa, ["Việt Nam"], "của Việt Nam", language="vi") == (100.0, 100.0)
    # pred [những, người] -> [người]; gold [người, lính]: P 1, R 1/2 -> F1 2/3
    em, f1 = one(mlqa, ["người lính"], "những người", language="vi")
    assert em == 0.0 and f1 == pytest.approx(100 * 2 / 3, abs=1e-12)


def test_mlqa_arabic_deletes_every_al_even_inside_words():
    assert mlqa_normalizer("ar")("الكتاب") == "كتاب"
    assert mlqa_normalizer("ar")("مالك") == "م ك"  # the official pattern splits the word: quirk kept
    assert one(mlqa, ["كتاب"], "الكتاب", language="ar") == (100.0, 100.0)
    assert one(mlqa, ["الصعوبة"], "الصعوبة،", language="ar") == (100.0, 100.0)  # Arabic comma is punctuation
    assert one(squad, ["الصعوبة"], "الصعوبة،") == (0.0, 0.0)  # ... which SQuAD v1.1 keeps


def test_mlqa_hindi_has_no_articles_and_drops_the_danda():
    assert one(mlqa, ["प्रकाशित हुआ था"], "प्रकाशित हुआ था।", language="hi") == (100.0, 100.0)
    # pred [एक, किताब]; gold [किताब]: P 1/2, R 1 -> F1 2/3 ("एक", "one/a", is not removed)
    em, f1 = one(mlqa, ["किताब"], "एक किताब", language="hi")
    assert em == 0.0 and f1 == pytest.approx(100 * 2 / 3, abs=1e-12)


def test_mlqa_chinese_character_tokens():
    assert mixed_segmentation("2008年北京 奥运会") == ["2008", "年", "北", "京", "奥", "运", "会"]
    assert mixed_segmentation("㐀㐁北") == ["㐀㐁", "北"]  # extension A is outside U+4E00..U+9FA5: stays glued
    # pred [北, 京, 大, 学] vs gold [北, 京]: P 1/2, R 1 -> F1 2/3
    em, f1 = one(mlqa, ["北京"], "北京大学", language="zh")
    assert em == 0.0 and f1 == pytest.approx(100 * 2 / 3, abs=1e-12)
    assert one(mlqa, ["北京大学"], "“北京 大学”。", language="zh") == (100.0, 100.0)
    # SQuAD v1.1 would see one token: no partial credit
    assert one(squad, ["北京"], "北京大学") == (0.0, 0.0)


def test_mlqa_language_pairs_normalise_in_the_context_language_and_unknown_languages_fail():
    assert one(mlqa, ["Kaisers"], "des Kaisers", language="de-en") == (100.0, 100.0)
    with pytest.raises(SpecError, match="fr"):
        mlqa([["a"]], ["a"], language="fr")


def test_compute_passes_the_task_language_to_metrics_that_take_it():
    refs, preds = [["北京"]], ["北京大学"]
    assert compute([{"metric": "mlqa"}], refs, preds, language="zh")["f1"] == pytest.approx(100 * 2 / 3)
    assert compute([{"metric": "squad"}], refs, preds, language="zh")["f1"] == 0.0


# ----------------------------------------------------------------------------- SQuAD v2.0


def test_squad_v2_scores_no_answer_as_the_empty_string():
    assert one(squad_v2, [], "") == (100.0, 100.0)
    assert one(squad_v2, [], "Paris") == (0.0, 0.0)
    assert one(squad_v2, ["Paris"], "") == (0.0, 0.0)
    # a gold answer that normalises to nothing counts as no answer: unlike v1.1, F1 is 1 too
    assert one(squad_v2, ["The"], "") == (100.0, 100.0)
    scores = squad_v2([[], ["Paris"], ["Paris Texas"]], ["", "Lyon", "Paris"])  # EM 1 0 0, F1 1 0 2/3
    assert scores["exact_match"] == 100.0 * 1 / 3
    assert scores["f1"] == pytest.approx(100 * (1 + 2 / 3) / 3, abs=1e-12)


# ----------------------------------------------------------------------------- XTREME's QA task score


def test_headline_and_task_score_follow_evaluate_py():
    name, score, shown = headline({"exact_match": 40.0, "f1": 60.0})
    assert (name, score, shown) == (QA_SCORE, 50.0, ["exact_match", "f1"])
    assert headline({"acc": 70.0}) == ("acc", 70.0, ["acc"])
    records = [
        {"score_name": QA_SCORE, "metrics": {"exact_match": em, "f1": f1}, "score": (em + f1) / 2}
        for em, f1 in [(40.0, 60.0), (10.0, 30.0), (0.1, 0.2)]
    ]
    assert task_score(records) == ((40.0 + 10.0 + 0.1) / 3 + (60.0 + 30.0 + 0.2) / 3) / 2
    assert task_score([{"score_name": "acc", "score": 1.0}, {"score_name": "acc", "score": 2.0}]) == 1.5
