"""Noise in the pipeline: derived tasks, clean + noisy cells from one model, --train-noise, tables, CLI."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.noise import NoiseError, wrap
from harness.noise.clusters import cluster_list
from harness.pipeline import RunConfig, Runner
from harness.registry import TaskIndex
from harness.report import leaderboard
from harness.task import Task


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One model store for the module: the clean toy model is trained once and reused."""
    return tmp_path_factory.mktemp("adapters")


def _config(tmp_path, tiny_model_dir, toy_tasks, toy_data, store=None, **overrides) -> RunConfig:
    options = dict(
        tasks=["toy"],
        model=str(tiny_model_dir),
        include_paths=[toy_tasks],
        data_dir=toy_data,
        output=tmp_path / "runs",
        adapter_dir=store or tmp_path / "adapters",
        epochs=1.0,
        learning_rate=3e-3,
        batch_size=16,
        device="cpu",
    )
    return RunConfig(**{**options, **overrides})


def test_wrap_derives_a_task_with_its_own_fingerprint(toy_tasks, toy_data):
    task = Task(TaskIndex([toy_tasks]).task("toy_de"), family="toy")
    noisy = wrap(task, "typo:0.2", seed=0)
    assert noisy.name == "toy_de@typo:0.2" and noisy.family == "toy"
    prints = {task.fingerprint(), noisy.fingerprint(), wrap(task, "typo:0.2", seed=1).fingerprint()}
    assert len(prints | {wrap(task, "typo:0.3", seed=0).fingerprint()}) == 4
    clean = task.examples("validation", toy_data)
    examples = noisy.examples("validation", toy_data)
    assert [e["id"] for e in examples] == [e["id"] for e in clean]
    assert [e["target"] for e in examples] == [e["target"] for e in clean]
    assert sum(a["text"] != b["text"] for a, b in zip(examples, clean)) > len(clean) / 2


def test_run_evaluates_clean_and_each_condition_with_the_same_model(
    tmp_path, tiny_model_dir, toy_tasks, toy_data, store
):
    config = _config(tmp_path, tiny_model_dir, toy_tasks, toy_data, store, noise=["typo:0.2,typo:0.2+drop:0.1"])
    result = Runner(config).run()
    records = result["results"]
    assert sorted((r["language"], r["condition"]) for r in records) == [
        (lang, c) for lang in ("de", "en") for c in ("clean", "typo:0.2", "typo:0.2+drop:0.1")
    ]
    assert len({r["artefact"]["key"] for r in records}) == 1  # one fine-tuned model for every cell
    assert len({r["key"] for r in records}) == 6
    for r in records:
        if r["condition"] == "clean":
            assert r["noise"] is None
        else:
            noise = r["noise"]
            assert noise["spec"] == r["condition"] and noise["seed"] == 0 and noise["fields"] == ["text", "text_pair"]
            assert 3 < noise["cer"] < 40 and noise["wer"] > noise["cer"]
    table = result["table_objs"][0]
    conditions = [row[table.columns.index("condition")] for row in table.rows]
    assert conditions == ["clean", "typo:0.2", "drop typo:0.2", "typo:0.2+drop:0.1", "drop typo:0.2+drop:0.1"]
    clean_row, noisy_row, drop_row = table.rows[:3]
    avg = table.columns.index("avg")
    assert drop_row[avg] == pytest.approx(clean_row[avg] - noisy_row[avg])
    assert "drop = clean − noisy" in table.caption
    noise_rows = next(t for t in result["table_objs"] if t.title.startswith("Applied noise")).rows
    assert [row[1:3] for row in noise_rows[:2]] == [["typo:0.2", "CER"], ["typo:0.2", "WER"]]
    # a second run finds every cell done: nothing is recomputed
    again = Runner(config).run()
    assert [r["created"] for r in again["results"]] == [r["created"] for r in records]


def test_train_noise_trains_and_stores_a_separate_model(tmp_path, tiny_model_dir, toy_tasks, toy_data, store):
    clean = Runner(_config(tmp_path, tiny_model_dir, toy_tasks, toy_data, store)).run()
    noisy = Runner(_config(tmp_path, tiny_model_dir, toy_tasks, toy_data, store, train_noise="typo:0.3")).run()
    clean_key = clean["results"][0]["artefact"]["key"]
    noisy_key = noisy["results"][0]["artefact"]["key"]
    assert clean_key != noisy_key and noisy["results"][0]["artefact"]["reused"] is False
    assert {r["train_noise"] for r in noisy["results"]} == {"typo:0.3"}
    both = leaderboard(clean["results"] + noisy["results"])
    assert "train_noise" in both.columns and len(both.rows) == 2


def test_bad_noise_fails_before_any_data_or_training(tmp_path, tiny_model_dir, toy_tasks, toy_data, monkeypatch):
    import harness.pipeline as pipeline

    def no_model(*args, **kwargs):
        raise AssertionError("a model was loaded before the noise spec was checked")

    monkeypatch.setattr(pipeline, "load_base", no_model)
    with pytest.raises(NoiseError, match="not a number"):
        Runner(_config(tmp_path, tiny_model_dir, toy_tasks, toy_data, noise=["typo:abc"]))
    with pytest.raises(NoiseError, match="between 0 and 1"):
        Runner(_config(tmp_path, tiny_model_dir, toy_tasks, toy_data, train_noise="typo:1.5"))
    missing = tmp_path / "{lang}-en.txt"
    with pytest.raises(NoiseError, match=r"for language '(en|de)'\) does not exist"):
        Runner(_config(tmp_path, tiny_model_dir, toy_tasks, toy_data, noise=[f"codeswitch:0.3:dict={missing}"])).run()


def test_strict_layout_error_names_the_language_before_training(tmp_path, shared_data, monkeypatch):
    import harness.pipeline as pipeline

    monkeypatch.setattr(pipeline, "load_base", lambda *a, **k: pytest.fail("model loaded"))
    config = RunConfig(
        tasks=["xnli"],
        languages=["sw"],
        model="tiny",
        data_dir=shared_data,
        limit=5,
        output=tmp_path,
        noise=["typo:0.1:strict"],
    )
    with pytest.raises(NoiseError, match="language 'sw' has no keyboard layout"):
        Runner(config).run()


def test_cli_run_prints_clean_noisy_and_drop(tmp_path, tiny_model_dir, toy_tasks, toy_data, store):
    args = [
        "run", "--tasks", "toy", "--model", str(tiny_model_dir), "--include-path", str(toy_tasks),
        "--data-dir", str(toy_data), "--output", str(tmp_path / "runs"), "--adapter-dir", str(store),
        "--epochs", "1", "--lr", "3e-3", "--device", "cpu", "--noise", "typo:0.2",
    ]  # fmt: skip
    out = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert out.exit_code == 0, out.output
    for text in ("clean", "typo:0.2", "drop typo:0.2", "Applied noise", "CER", "WER"):
        assert text in out.output
    bad = CliRunner().invoke(cli, [*args[:-1], "tpyo:0.2"])
    assert bad.exit_code == 2 and "Unknown perturbation 'tpyo'. Did you mean 'typo'?" in bad.output


def test_noise_ls_in_a_fresh_process_lists_the_whole_catalogue():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", "from harness.cli import main; main()", "noise", "ls"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=True,
    ).stdout
    assert all(name in out for name in ("typo", "diacritics", "codeswitch", "translit", "shuffle"))


def test_cli_noise_ls_and_preview(toy_tasks, toy_data):
    listing = CliRunner().invoke(cli, ["noise", "ls"], terminal_width=200)
    assert listing.exit_code == 0
    for name in (
        "typo",
        "homoglyph",
        "codeswitch",
        "translit",
        "layout=",
        "Keyboard layouts",
        "hi (Devanagari InScript)",
    ):
        assert name in listing.output
    args = ["noise", "preview", "typo:0.3+drop:0.2", "--task", "toy", "--lang", "de", "-n", "3"]
    preview = CliRunner().invoke(
        cli, [*args, "--include-path", str(toy_tasks), "--data-dir", str(toy_data)], terminal_width=200
    )
    assert preview.exit_code == 0, preview.output
    assert (
        "toy_de@typo:0.3+drop:0.2" in preview.output
        and "text_pair" in preview.output
        and "Applied: CER" in preview.output
    )
    group = CliRunner().invoke(cli, ["noise", "preview", "typo", "--task", "toy", "--include-path", str(toy_tasks)])
    assert group.exit_code == 2 and "choose a language with --lang; it has de, en" in group.output


def test_highlight_marks_the_edited_clusters():
    from harness.noise.cli import highlight

    old, new = highlight("नमस्ते दुनिया", "नमस्ते दनिया")
    assert old.plain == "नमस्ते दुनिया" and new.plain == "नमस्ते दनिया"
    assert [old.plain[s.start : s.end] for s in old.spans] == ["दु"] and [
        new.plain[s.start : s.end] for s in new.spans
    ] == ["द"]


def test_cli_noise_preview_jsonl_of_the_whole_split(toy_tasks, toy_data):
    """`--format jsonl -n all`: one JSON object per doc and field, whose edits rebuild the noisy text."""
    args = ["noise", "preview", "typo:0.3", "--task", "toy", "--lang", "de", "-n", "all", "--format", "jsonl"]
    result = CliRunner().invoke(cli, [*args, "--include-path", str(toy_tasks), "--data-dir", str(toy_data)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    docs = (toy_data / "toy" / "dev-de.tsv").read_text(encoding="utf-8").strip().splitlines()
    assert len(rows) == 2 * len(docs) and {r["field"] for r in rows} == {"text", "text_pair"}
    assert any(r["edits"] for r in rows) and all(set(r) == {"doc", "field", "clean", "noisy", "edits"} for r in rows)
    for row in rows:  # the edits are exactly the difference, in clean cluster positions
        clusters = list(cluster_list(row["clean"]))
        for edit in reversed(row["edits"]):
            span = len(cluster_list(edit["clean"])) if edit["clean"] else 0
            clusters[edit["at"] : edit["at"] + span] = [edit["noisy"]]
        assert "".join(clusters) == row["noisy"]
    bad = CliRunner().invoke(cli, [*args[:-4], "-n", "0", "--include-path", str(toy_tasks)])
    assert bad.exit_code == 2 and "positive number of docs or `all`" in bad.output
