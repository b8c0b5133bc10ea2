"""The alternatives Phang et al. and Turc et al. compared English intermediate training with: masked-LM batches
mixed into the stage (``+mlm``), translated training data (``mnli@de``), and the source language as an axis."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.adapters.store import ArtefactStore
from harness.config import parse_stage, split_stages
from harness.errors import DataError, HarnessError, SpecError
from harness.pipeline import RunConfig, Runner
from harness.planning import make_task
from harness.registry import TaskIndex
from harness.report import InLanguage, averaged
from harness.task import DocSelection

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def config(model: Path, toy_tasks: Path, toy_data: Path, out: Path, **kw) -> RunConfig:
    settings = {"tasks": ["toy"], "model": str(model), "data_dir": toy_data, "include_paths": [toy_tasks],
                "output": out, "adapter_dir": out.parent / "store", "limit": 24, **kw}  # fmt: skip
    return RunConfig(**settings)


def test_stage_names() -> None:
    assert split_stages("none,anli,mnli@de,ru,anli+mlm") == ["none", "anli", "mnli@de,ru", "anli+mlm"]
    assert split_stages("mnli@de,ru+mlm,qqp,@0a1b2c") == ["mnli@de,ru+mlm", "qqp", "@0a1b2c"]
    assert parse_stage("mnli@de,ru+squad+mlm") == ([("mnli", ["de", "ru"]), ("squad", [])], True)
    with pytest.raises(HarnessError, match="name the task too"):
        parse_stage("mlm")


def test_zero_shot_average_leaves_out_a_non_english_training_language() -> None:
    def record(family: str, train: str | None, lang: str) -> dict:
        return {"family": family, "train_language": train, "language": lang, "zero_shot": train != lang}

    english = [record("xnli", "en", "en"), record("xnli", "en", "de"), record("tatoeba", None, "de")]
    assert averaged(english) == english  # XTREME-R's average keeps English for English-trained models
    compared = [*english, record("xnli", "de", "en"), record("xnli", "de", "de")]
    assert [(r["train_language"], r["language"]) for r in averaged(compared)] == [
        ("en", "de"), (None, "de"), ("de", "en")]  # fmt: skip


def test_target_trained_from_a_german_file(tiny_model_dir, toy_tasks, toy_data, tmp_path) -> None:
    cfg = config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "a", train_languages=["en", "de"])
    result = Runner(cfg).run()
    records = {(r["train_language"], r["language"]): r for r in result["results"]}
    assert set(records) == {("en", "en"), ("en", "de"), ("de", "en"), ("de", "de")}
    assert [k for k, r in records.items() if not r["zero_shot"]] == [("en", "en"), ("de", "de")]
    german = records[("de", "de")]["artefact"]
    meta = ArtefactStore(tmp_path / "store").meta(german["key"])
    assert german["train_split"] == "train" and meta["train_stats"]["examples"] == 96  # the translated file
    assert german["key"] != records[("en", "de")]["artefact"]["key"]

    board = result["table_objs"][0]
    at = {c: i for i, c in enumerate(board.columns)}
    row = next(r for r in board.rows if r[at["train_language"]] == "de")
    # each cell is an estimate (with its interval); the training language's own is marked, the others not
    assert isinstance(row[at["de"]].value, InLanguage) and not isinstance(row[at["en"]].value, InLanguage)
    assert row[at["avg"]].value == pytest.approx(records[("de", "en")]["score"])  # de left out of the average
    assert board.cell(row[at["de"]]).endswith("†") and "left out of the average" in board.caption

    with pytest.raises(DataError, match=r"toy/translated/train-fr\.tsv.*only de exists"):
        Runner(config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "b", train_languages=["fr"])).run()


@pytest.mark.parametrize("method", ["full", "lora"])
def test_mlm_mix_trains_masked_lm_and_the_task(method, tiny_model_dir, toy_tasks, toy_data, tmp_path) -> None:
    cfg = config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "a", method=method, mlm_corpus=FIXTURES / "mlm")
    mixed = Runner(cfg).train("toyint+mlm")["meta"]
    assert mixed["mlm"]["languages"] == ["de", "fr"] and str(FIXTURES / "mlm") in mixed["mlm"]["source"]
    stats, mlm = mixed["train_stats"], mixed["train_stats"]["mixed_losses"]["mlm"]
    # four sentences, repeated: masked-LM is learnt (LoRA, with frozen embeddings, more slowly) ...
    assert mlm["final_loss"] < (0.6 if method == "full" else 0.92) * mlm["first_loss"]
    assert stats["final_loss"] < stats["first_loss"] and stats["examples"] == 240  # ... and so is the task
    if method == "full":
        plain = Runner(cfg).train("toyint")
        assert plain["key"] != mixed["key"] and "mlm" not in plain["meta"]["spec"]

    with pytest.raises(DataError, match=r"looked for .*mlm/xx\.txt"):
        Runner(config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "b", mlm_corpus=FIXTURES / "mlm",
                      mlm_languages=["xx"])).train("toyint+mlm")  # fmt: skip


def test_translated_sources(tmp_path) -> None:
    index = TaskIndex([])
    mnli = make_task(index, "mnli", RunConfig(tasks=[])).with_train_languages(["de", "ru"])
    folder = tmp_path / "XNLI-MT-1.0" / "multinli"
    folder.mkdir(parents=True)
    for lang, word in (("de", "Hund"), ("ru", "собака")):  # XNLI-MT's layout: a header row, "contradictory"
        rows = ["premise\thypo\tlabel", f"ein {word}\tkein {word}\tcontradictory", f"{word}\t{word}\tentailment"]
        (folder / f"multinli.train.{lang}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    examples = mnli.training_examples("train", tmp_path, DocSelection())
    assert [(e["id"], e["text_pair"], e["target"]) for e in examples] == [
        ("de:0", "kein Hund", 2), ("de:1", "Hund", 0), ("ru:0", "kein собака", 2), ("ru:1", "собака", 0)]  # fmt: skip
    assert mnli.training_identity() != make_task(index, "mnli", RunConfig(tasks=[])).training_identity()

    anli = make_task(index, "anli", RunConfig(tasks=[])).with_train_languages(["de"])
    with pytest.raises(SpecError, match="reads the same en data in every language"):
        anli.training_identity()
