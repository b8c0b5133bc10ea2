"""Noise keeps example structure: QA answers re-located, one label per word, the right fields noised.

The real-data tests read ../shared/data directly into examples shaped like the
task-type contracts (span QA and tagging readers live in other modules).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from harness.noise import NoiseError, error_rates, parse, perturb_examples
from harness.noise.clusters import cluster_list

QA_SPEC = parse("typo:0.2")


def noise(
    examples: list[dict], spec, task_type: str, fields: list[str], language: str = "en", seed: int = 0, task: str = "t"
):
    spec = parse(spec) if isinstance(spec, str) else spec
    return perturb_examples(examples, spec, task=task, task_type=task_type, fields=fields, language=language, seed=seed)


def squad_examples(path: Path) -> list[dict]:
    """SQuAD-format JSON as span-QA examples: question, context, target = {text, answer_start}."""
    examples = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                answers = {
                    "text": [a["text"] for a in qa["answers"]],
                    "answer_start": [a["answer_start"] for a in qa["answers"]],
                }
                examples.append(
                    {
                        "id": qa["id"],
                        "index": len(examples),
                        "question": qa["question"],
                        "context": paragraph["context"],
                        "target": answers,
                    }
                )
    return examples


def tagged_sentences(path: Path) -> list[dict]:
    """XTREME's token<TAB>tag files as tagging examples: tokens, target."""
    examples, tokens, tags = [], [], []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.strip():
            token, tag = line.rsplit("\t", 1)
            tokens.append(token)
            tags.append(tag)
        elif tokens:
            examples.append({"id": str(len(examples)), "index": len(examples), "tokens": tokens, "target": tags})
            tokens, tags = [], []
    return examples


def _answers_in_place(example: dict) -> bool:
    context, target = example["context"], example["target"]
    return all(context[s : s + len(t)] == t for t, s in zip(target["text"], target["answer_start"]))


def _qa_files(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "xquad").glob("*.json")) + sorted((shared_data / "tydiqa").glob("*/*.json"))


def test_relocated_answers_match_the_noised_context_on_every_xquad_and_tydiqa_file(shared_data):
    files = _qa_files(shared_data)
    assert len(files) == 22
    answered = 0
    for path in files:
        language = path.name.split(".")[-2] if path.parent.name == "xquad" else path.name.split(".")[2]
        clean = squad_examples(path)
        noisy = noise(clean, QA_SPEC, "span_qa", ["question", "context"], language=language, task=path.stem)
        in_place = [_answers_in_place(e) for e in clean]
        assert all(_answers_in_place(n) for n, ok in zip(noisy, in_place) if ok), path
        changed = sum(n["context"] != c["context"] for n, c in zip(noisy, clean))
        assert changed > 0.9 * len(clean), path
        # each re-located answer is the gold answer, noised (about as much as the rate says)
        gold = [t for e, ok in zip(clean, in_place) if ok for t in e["target"]["text"]]
        moved = [t for n, ok in zip(noisy, in_place) if ok for t in n["target"]["text"]]
        assert len(gold) == len(moved) and all(bool(g) == bool(m) for g, m in zip(gold, moved)), path
        answered += sum(map(bool, gold))
        # (this copy of TyDiQA-GoldP dev has every answer blanked: text "" at 0; only train-en has answers)
        assert sum(a != b for a, b in zip(gold, moved)) >= 0.05 * sum(map(bool, gold)), path
    assert answered > 15000  # XQuAD's 12 x 1190 and TyDiQA's English training answers


def test_answer_spans_can_be_protected_instead(shared_data):
    path = shared_data / "xquad" / "xquad.hi.json"
    clean = squad_examples(path)[:200]
    noisy = noise(
        clean, "typo:0.3+drop:0.1+answers=protect", "span_qa", ["question", "context"], language="hi", task="xquad_hi"
    )
    for n, c in zip(noisy, clean):
        assert n["target"]["text"] == c["target"]["text"] and _answers_in_place(n)
    assert sum(n["context"] != c["context"] for n, c in zip(noisy, clean)) > 150


def test_word_noise_keeps_overlapping_answers_in_place():
    context = "The Denver Broncos won Super Bowl 50 in 2016, beating the Carolina Panthers."
    answers = {"text": ["Denver Broncos", "The Denver Broncos", "Broncos", "2016"], "answer_start": [4, 0, 11, 40]}
    example = {"id": "q1", "index": 0, "question": "Who won?", "context": context, "target": answers}
    for seed in range(30):
        spec = parse("typo:0.3+drop:0.3+shuffle:0.3+split:0.3+merge:0.3+repeat:0.3+delete:0.2")
        (noisy,) = noise([example], spec, "span_qa", ["context"], seed=seed)
        assert _answers_in_place(noisy) and all(noisy["target"]["text"])
        assert noisy["target"]["text"][1].endswith(noisy["target"]["text"][0])  # nesting survives


def test_no_answer_examples_are_noised_as_plain_text():
    example = {
        "id": "q",
        "index": 0,
        "question": "?",
        "context": "nothing to find here at all",
        "target": {"text": [], "answer_start": []},
    }
    (noisy,) = noise([example], "typo:0.5", "span_qa", ["context"], seed=1)
    assert noisy["target"] == {"text": [], "answer_start": []} and noisy["context"] != example["context"]


TAGGING_SPEC = parse("typo:0.2+drop:0.1+shuffle:0.1+split:0.1")


@pytest.mark.parametrize("family", ["udpos", "panx"])
def test_every_sentence_keeps_one_label_per_word(shared_data, family):
    files = sorted((shared_data / family).glob("dev-*.tsv"))
    assert len(files) == 15
    for path in files:
        language = path.stem.split("-")[1]
        clean = tagged_sentences(path)
        noisy = noise(clean, TAGGING_SPEC, "tagging", ["tokens"], language=language, task=f"{family}_{language}")
        dropped = 0
        for n, c in zip(noisy, clean):
            assert len(n["tokens"]) == len(n["target"]) and n["tokens"] and all(n["tokens"]), path
            assert sum(len(t.split()) != 1 for t in n["tokens"]) <= sum(len(t.split()) != 1 for t in c["tokens"])
            assert not Counter(n["target"]) - Counter(c["target"]), path  # labels only ever dropped
            dropped += len(c["tokens"]) - len(n["tokens"])
        assert dropped > 0, path


def test_labels_follow_their_words():
    tokens = ["Ada", "Lovelace", "wrote", "notes", "in", "London", "."]
    tags = ["B-PER", "I-PER", "O", "O", "O", "B-LOC", "O"]
    example = {"id": "s", "index": 0, "tokens": tokens, "target": tags}
    pairs = set(zip(tokens, tags))
    for seed in range(20):
        (noisy,) = noise([example], "drop:0.3+shuffle:0.5", "tagging", ["tokens"], seed=seed)
        assert set(zip(noisy["tokens"], noisy["target"])) <= pairs and noisy["tokens"]


def _entities(tags: list[str]) -> list[tuple[str, int]]:
    """The gold entities as (type, length) in order, read the way seqeval reads BIO."""
    from seqeval.metrics.sequence_labeling import get_entities

    return [(kind, end - start + 1) for kind, start, end in get_entities(tags)]


def _valid_bio(tags: list[str]) -> bool:
    return all(
        not t.startswith("I-") or (k > 0 and tags[k - 1] != "O" and tags[k - 1][2:] == t[2:])
        for k, t in enumerate(tags)
    )


def test_word_noise_keeps_bio_valid_and_the_gold_entities_on_every_panx_language(shared_data):
    spec = parse("typo:0.1+drop:0.3+shuffle:0.3+case:0.2")
    touched = 0
    for path in sorted((shared_data / "panx").glob("dev-*.tsv")):
        language = path.stem.split("-")[1]
        clean = tagged_sentences(path)[:200]
        noisy = noise(clean, spec, "tagging", ["tokens"], language=language, task=f"panx_{language}")
        for n, c in zip(noisy, clean):
            assert _valid_bio(n["target"]) or not _valid_bio(c["target"]), (path, c["target"], n["target"])
            assert _entities(n["target"]) == _entities(c["target"]), path
        rates = error_rates(clean, noisy, ["tokens"], "tagging")
        assert rates["labels"] == sum(len(c["target"]) for c in clean) and 0 < rates["labels_touched"] < 80
        touched += rates["labels_touched"] > 0
    assert touched == 15


def test_entities_move_only_as_a_whole_and_the_record_counts_touched_labels():
    tokens = ["Ada", "Lovelace", "wrote", "notes", "in", "London", "today", "."]
    tags = ["B-PER", "I-PER", "O", "O", "O", "B-LOC", "O", "O"]
    example = {"id": "s", "index": 0, "tokens": tokens, "target": tags}
    for seed in range(30):
        (noisy,) = noise([example], "drop:0.5+shuffle:0.9", "tagging", ["tokens"], seed=seed)
        assert [t for t in noisy["target"] if t != "O"] == ["B-PER", "I-PER", "B-LOC"]
        assert noisy["tokens"][noisy["target"].index("B-PER") + 1] == "Lovelace"
    (noisy,) = noise([example], "drop:0.5", "tagging", ["tokens"], seed=1)
    dropped = len(tokens) - len(noisy["tokens"])
    assert dropped and error_rates([example], [noisy], ["tokens"], "tagging")["labels_touched"] == 100 * dropped / 8
    pos = {**example, "target": ["PROPN", "PROPN", "VERB", "NOUN", "ADP", "PROPN", "NOUN", "PUNCT"]}
    assert any(  # POS tags are no entities: every word may move
        noise([pos], "shuffle:0.9", "tagging", ["tokens"], seed=seed)[0]["tokens"][:2] != tokens[:2]
        for seed in range(10)
    )


def test_word_insertions_are_skipped_on_tagging():
    example = {"id": "s", "index": 0, "tokens": ["a", "bb", "ccc"], "target": ["X", "Y", "Z"]}
    (noisy,) = noise([example], "split:1+merge:1+repeat:1", "tagging", ["tokens"])
    assert noisy["tokens"] == example["tokens"] and noisy["target"] == example["target"]


def test_multiple_choice_noises_context_and_each_choice_apart():
    example = {
        "id": "7",
        "index": 0,
        "text": "The man turned on the faucet.",
        "choices": ["The toilet filled with water.", "Water flowed from the spout."],
        "target": 1,
    }
    (noisy,) = noise([example], "typo:0.3", "multiple_choice", ["text", "choices"], task="xcopa_en")
    assert noisy["text"] != example["text"] and len(noisy["choices"]) == 2
    assert all(a != b for a, b in zip(noisy["choices"], example["choices"]))
    (again,) = noise(
        [{**example, "choices": example["choices"][::-1]}],
        parse("typo:0.3"),
        "multiple_choice",
        ["text", "choices"],
        task="xcopa_en",
    )
    assert again["choices"][0] != noisy["choices"][1]  # each option has its own generator (by position)


def test_retrieval_noises_only_the_query_side():
    example = {"id": "3", "index": 0, "text": "Ich liebe dich sehr.", "text_pair": "I love you very much.", "target": 3}
    (noisy,) = noise([example], "typo:0.5", "retrieval", ["text"], language="de", task="tatoeba_de")
    assert noisy["text"] != example["text"] and noisy["text_pair"] == example["text_pair"]


def test_fields_can_be_overridden_and_bad_fields_are_clear_errors():
    example = {"id": "1", "index": 0, "text": "premise words here", "text_pair": "hypothesis words here", "target": 0}
    (noisy,) = noise([example], "typo:0.5+fields=text_pair", "classification", ["text_pair"])
    assert noisy["text"] == example["text"] and noisy["text_pair"] != example["text_pair"]
    with pytest.raises(NoiseError, match="cannot noise field 'context'.*text, text_pair"):
        noise([example], "typo", "classification", ["context"], task="xnli_de")


def test_the_same_doc_gets_the_same_noise_whatever_the_batch():
    texts = [f"sentence number {i} with some words" for i in range(50)]
    examples = [{"id": str(i), "index": i, "text": t, "target": 0} for i, t in enumerate(texts)]
    spec = parse("typo:0.2+drop:0.1")
    whole = noise(examples, spec, "classification", ["text"], seed=3)
    parts = [noise([e], spec, "classification", ["text"], seed=3)[0] for e in reversed(examples)]
    assert [w["text"] for w in whole] == [p["text"] for p in reversed(parts)]
    other = noise(examples, spec, "classification", ["text"], seed=4)
    assert [w["text"] for w in whole] != [o["text"] for o in other]
    assert all(len(cluster_list(w["text"])) > 0 for w in whole)
