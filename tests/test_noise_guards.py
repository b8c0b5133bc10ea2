"""Meaning guards (``noise/guards.py``): protected words are never edited, dropped or moved, and the record counts hits."""

from __future__ import annotations

import pytest

from harness.noise import NoiseError, error_rates, parse, perturb_examples
from harness.noise.guards import guard_for


def _noise(examples, spec, task_type="classification", fields=("text",), language="en"):
    return perturb_examples(
        examples, parse(spec), task="t", task_type=task_type, fields=list(fields), language=language, seed=0
    )


def _examples(texts):
    return [{"id": str(i), "index": i, "text": t, "target": 0} for i, t in enumerate(texts)]


def test_classification_keeps_negations_by_default_on_real_xnli(shared_data):
    rows = (shared_data / "xnli" / "dev-en.tsv").read_text(encoding="utf-8").splitlines()
    examples = [{"id": str(i), "index": i, "text": r.split("\t")[1], "target": 0} for i, r in enumerate(rows)]
    guard = guard_for(None, None, "en", "classification")
    # by default negations are kept from word edits; protect=negation keeps them from every edit
    for spec in ("drop:0.1", "drop:0.3+shuffle:0.3+case:0.3", "drop:0.3+typo:0.2+protect=negation"):
        noisy = _noise(examples, spec)
        rates = error_rates(examples, noisy, ["text"], "classification", guard)
        assert rates["protected"] > 500 and rates["protected_hit"] == 0 and rates["wer"] > 5
    unguarded = _noise(examples, "drop:0.1+protect=none")
    assert error_rates(examples, unguarded, ["text"], "classification", guard)["protected_hit"] > 5


def test_protect_numbers_a_word_list_and_other_scripts(tmp_path):
    names = tmp_path / "names.txt"
    names.write_text("Ada Lovelace\nLondon\n", encoding="utf-8")
    text = "Ada Lovelace did not write 3 notes in London in 1843"
    examples = _examples([text] * 40)
    noisy = _noise(examples, f"typo:0.5+drop:0.3+shuffle:0.3+protect=number+protect_list={names}", "multiple_choice")
    for n in noisy:
        assert all(w in n["text"] for w in ("Ada Lovelace", "London", " 3 ", "1843")), n["text"]
    assert any(" not " not in n["text"] for n in noisy)  # negation is not protected here (not asked)
    thai = _noise(
        _examples(["ผมไม่ได้ไปโรงเรียนเมื่อวานนี้"] * 30), "drop:0.3+swap:0.3+typo:0.3+protect=negation", language="th"
    )
    assert all("ไม่ได้" in n["text"] for n in thai)
    hindi = _noise(_examples(["वह आज स्कूल नहीं गया"] * 30), "drop:0.4+typo:0.4+protect=negation", language="hi")
    assert all("नहीं" in n["text"] for n in hindi)


def test_protect_entity_keeps_entity_tokens_of_tagging_untouched():
    example = {"id": "s", "index": 0, "tokens": ["Ada", "Lovelace", "wrote", "in", "London"], "target": []}
    example["target"] = ["B-PER", "I-PER", "O", "O", "B-LOC"]
    for seed in range(10):
        (noisy,) = perturb_examples(
            [{**example, "id": str(seed)}], parse("typo:0.6+protect=entity"), task="t", task_type="tagging",
            fields=["tokens"], language="en", seed=0,
        )  # fmt: skip
        assert [t for t, tag in zip(noisy["tokens"], noisy["target"]) if tag != "O"] == ["Ada", "Lovelace", "London"]


def test_protect_options_parse_and_fail_clearly(tmp_path):
    assert str(parse("drop:0.1+protect=number/negation")) == "drop:0.1+protect=negation/number"
    assert str(parse("drop")) == "drop:0.1"
    with pytest.raises(NoiseError, match="protect= takes negation, number, entity, none"):
        parse("drop+protect=negations")
    with pytest.raises(NoiseError, match="protect_list= needs a file"):
        parse(f"drop+protect_list={tmp_path / 'missing.txt'}")
