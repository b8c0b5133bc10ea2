"""The tagging task type: first-sub-token labels, whole-word windows, stitching, specs and the pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest
import torch
from test_pipeline import one
from transformers import AutoTokenizer, XLMRobertaConfig, XLMRobertaModel

from harness.data import load_hub
from harness.errors import DataError, SpecError
from harness.pipeline import RunConfig, Runner
from harness.planning import resolve_tasks, skip_missing_languages
from harness.registry import TaskIndex
from harness.spec import TaskConfig
from harness.task import Task
from harness.tasktypes import get_task_type
from harness.tasktypes.tagging import IGNORE, word_pieces, word_windows

TAGGING = get_task_type("tagging")
UPOS = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT"]
UPOS += ["SCONJ", "SYM", "VERB", "X"]


def cfg(**kwargs) -> TaskConfig:
    return TaskConfig(task="t", task_type="tagging", **{"label_list": ["O", "B-PER", "I-PER"], **kwargs})


def example(tokens, target, index=0):
    return {"id": str(index), "index": index, "tokens": tokens, "target": target}


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_word_windows_take_whole_words_greedily():
    assert word_windows([3, 3, 3], 6) == [(0, 2), (2, 3)]
    assert word_windows([2, 2, 2], 6) == [(0, 3)]
    assert word_windows([10, 1, 1], 4) == [(0, 1), (1, 3)]  # a word longer than the budget fills a window alone
    assert word_windows([], 4) == []


def test_a_word_without_pieces_gets_the_unknown_token():
    assert word_pieces([7, 8, 9], [0, 0, 2], 3, unk_id=3) == [[7, 8], [3], [9]]


def test_prepare_checks_words_and_tags():
    task_cfg = cfg()
    assert TAGGING.prepare(task_cfg, example(["Ann", 5], [1, "O"]))["target"] == ["B-PER", "O"]  # hub ids -> names
    assert TAGGING.prepare(task_cfg, example(["Ann", 5], [1, "O"]))["tokens"] == ["Ann", "5"]
    with pytest.raises(SpecError, match="2 words but 1 tags"):
        TAGGING.prepare(task_cfg, example(["a", "b"], ["O"]))
    with pytest.raises(SpecError, match="tag 'B-LOC' is not in label_list"):
        TAGGING.prepare(task_cfg, example(["a"], ["B-LOC"]))
    with pytest.raises(SpecError, match="must give lists"):
        TAGGING.prepare(task_cfg, example("a b", ["O", "O"]))
    # an open label set (labels_from_data) keeps tags the training data never had: they simply score as wrong
    assert TAGGING.prepare(cfg(labels_from_data=True), example(["a"], ["B-LOC"]))["target"] == ["B-LOC"]


def test_hub_class_label_ids_become_the_datasets_own_tag_names():
    # deliberately not label_list's order: names come from the dataset, so the order cannot go wrong
    features = datasets.Features(
        {
            "tokens": datasets.List(datasets.Value("string")),
            "ner_tags": datasets.List(datasets.ClassLabel(names=["I-PER", "O", "B-PER"])),
        }
    )
    docs = datasets.Dataset.from_dict({"tokens": [["Ann", "Lee", "ran"]], "ner_tags": [[2, 0, 1]]}, features=features)
    hook = TaskIndex().task("panx_de").process_docs.resolve()
    assert hook(docs)[0] == {"tokens": ["Ann", "Lee", "ran"], "ner_tags": ["B-PER", "I-PER", "O"]}
    local = docs.cast_column("ner_tags", datasets.List(datasets.Value("string")))
    assert hook(local) is local  # local files already hold names


def test_encode_labels_first_pieces_and_predict_stitches_windows(tokenizer):
    task_cfg = cfg()
    long = ["Ann", "Lee", "visited", "the", "old", "harbour", "of", "Hamburg", "yesterday", "again", "."]
    examples = [example(long, ["B-PER", "I-PER"] + ["O"] * 9, 0), example(["Bob"], ["B-PER"], 1), example([], [], 2)]
    features = TAGGING.encode(examples, tokenizer, 8, task_cfg)
    assert all(len(ids) <= 8 for ids in features["input_ids"])
    assert features["length"] == [len(ids) for ids in features["input_ids"]]
    assert features["example_index"].count(0) > 1  # the long sentence needed several windows
    assert 2 not in features["example_index"]  # an empty sentence has no window
    # every word is labelled exactly once, on its first piece, in order
    for index in (0, 1):
        labels = [c for f, i in enumerate(features["example_index"]) if i == index for c in features["labels"][f]]
        firsts = [c for f, i in enumerate(features["example_index"]) if i == index for c in features["first_piece"][f]]
        assert [c for c in labels if c != IGNORE] == [task_cfg.label_list.index(t) for t in examples[index]["target"]]
        assert sum(firsts) == len(examples[index]["tokens"])
    # stitching: windows' word predictions land on their own words
    gold_classes = [[task_cfg.label_list.index(t) for t in e["target"]] for e in examples]
    outputs = [
        gold_classes[i][first : first + sum(firsts)]
        for i, first, firsts in zip(features["example_index"], features["first_word"], features["first_piece"])
    ]
    assert TAGGING.predict(outputs, features, examples, task_cfg) == [e["target"] for e in examples]


def test_families_cover_xtreme_r_languages():
    index = TaskIndex()
    udpos = sorted(index.task(t).language for t in index.expand("udpos"))
    panx = sorted(index.task(t).language for t in index.expand("panx"))
    assert len(udpos) == 38 and {"lt", "pl", "uk", "wo", "ro", "kk", "yo"} <= set(udpos)
    assert len(panx) == 48 and {"qu", "pl", "uk", "az", "lt", "pa", "gu", "ro", "my", "jv"} <= set(panx)
    assert index.task("udpos_de").label_list == UPOS
    assert index.task("udpos_de").training.learning_rate == 1e-5 and index.task("panx_de").training.epochs == 10


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("udpos_de", r"google/xtreme \(config udpos.German\), split 'validation'"),
        ("udpos_kk", r"google/xtreme \(config udpos.Kazakh\), split 'test'"),  # kk th tl yo: no dev set
        ("panx_de", r"google/xtreme \(config PAN-X.de\), split 'validation'"),
        ("panx_qu", r"unimelb-nlp/wikiann \(config qu\), split 'validation'"),
    ],
)
def test_hub_sources_per_language(name, message):
    with pytest.raises(DataError, match=message):  # offline: the error names what would be loaded
        load_hub(TaskIndex().task(name), "validation")


def test_ud_v27_languages_are_local_only_with_a_clear_message():
    with pytest.raises(DataError, match=r"language 'wo' has no hub source.*lt pl uk wo ro come from UD v2.7"):
        load_hub(TaskIndex().task("udpos_wo"), "validation")


def test_languages_missing_locally_are_skipped(shared_data):
    tasks = resolve_tasks(["udpos"], RunConfig(tasks=["udpos"], data_dir=shared_data), TaskIndex())
    kept, skipped = skip_missing_languages(tasks, RunConfig(tasks=["udpos"], data_dir=shared_data))
    assert sorted(t.language for t in kept) == sorted(p.stem[4:] for p in (shared_data / "udpos").glob("dev-*.tsv"))
    assert "lt" in skipped["udpos"] and "af" in skipped["udpos"]
    named = RunConfig(tasks=["udpos"], data_dir=shared_data, languages=["af", "de"])
    assert (
        len(skip_missing_languages(resolve_tasks(named.tasks, named, TaskIndex()), named)[0]) == 2
    )  # named: kept, then fail


def test_ccg_reads_licensed_local_files_only(tmp_path):
    task = Task(TaskIndex().task("ccg"))
    with pytest.raises(DataError, match=r"no hub source.*LDC2005T13.*ccgbank_1_1/"):
        task.examples("validation", None)
    with pytest.raises(DataError, match=r"no file .*ccgbank_1_1/data/AUTO.*this task has no hub source.*LDC2005T13"):
        task.examples("validation", tmp_path)


def run(tmp_path: Path, tasks: list[str], data_dir: Path, **kwargs):
    config = RunConfig(
        tasks=tasks, data_dir=data_dir, output=tmp_path / "runs", adapter_dir=tmp_path / "store", **kwargs
    )
    return Runner(config).run()


def test_pipeline_trains_and_scores_a_tagging_task(tmp_path, tiny_model_dir, toy_data, toy_tasks):
    result = run(tmp_path, ["toytag"], toy_data, model=str(tiny_model_dir), include_paths=[toy_tasks], log_samples=True)
    records = {r["language"]: r for r in result["results"]}
    assert set(records) == {"en", "de"}
    stats = records["en"]["artefact"]["train_stats"]
    assert stats["examples"] > 160  # long training sentences became several windows
    assert stats["final_loss"] < stats["first_loss"]
    for record in records.values():
        assert list(record["metrics"]) == ["f1", "precision", "recall", "token_acc"]
        assert record["score_name"] == "f1" and 0 <= record["score"] <= 100
    assert records["en"]["metrics"]["token_acc"] > 50  # the lexicon is learnable in English
    samples = [json.loads(line) for line in one(tmp_path / "runs" / "samples", "toytag_en@clean@*").splitlines()]
    assert len(samples) == 40 and all(len(s["prediction"]) == len(s["tokens"]) for s in samples)


def test_ccg_labels_come_from_the_training_sections(tmp_path, tiny_model_dir, toy_data):
    result = run(tmp_path, ["ccg"], toy_data / "ccg", model=str(tiny_model_dir), epochs=1, learning_rate=1e-3)
    (record,) = result["results"]
    assert record["score_name"] == "token_acc" and record["n"] == 10
    assert record["artefact"]["train_stats"]["examples"] == 40  # sections 02, 15 and 21
    labels = record["spec"]["label_list"]
    assert labels == sorted(labels) and "(S[dcl]\\NP)/NP" in labels and "N" in labels


def test_every_word_of_the_real_files_is_read_and_tagged(shared_data, tokenizer):
    """Every line of ../shared/data/udpos and panx is read as a word, and every word gets a predicted tag.

    The test tokenizer cuts a real sentence into ~70 pieces, so a max length of 32 splits most sentences into
    several windows (and the 784-word Japanese ones into dozens). The property needs outputs, not quality: an
    untrained one-layer encoder of width 8 gives them for the ~15M pieces in a fraction of the test model's time.
    """
    from harness.evaluation import predict_features
    from harness.features import featurize
    from harness.training import TaskModel

    torch.manual_seed(0)
    size = {"hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": 32}
    config = XLMRobertaConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **size)
    encoder = XLMRobertaModel(config, add_pooling_layer=False)
    index = TaskIndex()
    windows = sentences = 0
    for family in ("udpos", "panx"):
        model = TaskModel(encoder, TAGGING.make_head(8, index.task(f"{family}_en")), TAGGING)
        for path in sorted((shared_data / family).glob("*.tsv")):
            split, lang = path.stem.split("-")
            task = Task(index.task(f"{family}_{lang}"))
            examples = task.examples("train" if split == "train" else "validation", shared_data)
            lines = path.read_text(encoding="utf-8").split("\n")
            assert sum(len(e["tokens"]) for e in examples) == sum(1 for line in lines if line.strip()), path.name
            assert len(examples) == sum(1 for a, b in zip(lines, lines[1:] + [""]) if a.strip() and not b.strip())
            features = featurize(TAGGING, examples, tokenizer, 32, task.cfg)
            outputs = predict_features(model, features, 512, torch.device("cpu"), torch.float32, tokenizer.pad_token_id)
            predictions = TAGGING.predict(outputs, features, examples, task.cfg)
            assert [len(p) for p in predictions] == [len(e["tokens"]) for e in examples], path.name
            assert all(tag in task.cfg.label_list for p in predictions for tag in p), path.name
            windows, sentences = windows + len(features), sentences + len(examples)
    assert windows > 2 * sentences  # windows were exercised
