"""Intermediate-task stages: trained once, stacked under every target, compared with `none`, reused, moved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_pipeline import one

from harness.adapters.store import ArtefactStore, StoreError
from harness.cli import cli
from harness.errors import HarnessError
from harness.pipeline import RunConfig, Runner


def config(model: Path, toy_tasks: Path, toy_data: Path, out: Path, **kw) -> RunConfig:
    settings = {"tasks": ["toy"], "model": str(model), "data_dir": toy_data, "include_paths": [toy_tasks],
                "output": out, "adapter_dir": out.parent / "store", "limit": 24, **kw}  # fmt: skip
    return RunConfig(**settings)


def by_setting(records: list[dict]) -> dict[tuple, float]:
    return {(r["intermediate"], r["language"], r["condition"]): r["score"] for r in records}


def test_each_intermediate_is_trained_once_then_reused(tiny_model_dir, toy_tasks, toy_data, tmp_path) -> None:
    cfg = config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "a", method="lora", intermediates=["none", "toyint"])
    first = Runner(cfg).run()
    assert sum("trained lora intermediate model" in e for e in first["events"]) == 1
    assert {r["intermediate"] for r in first["results"]} == {"none", "toyint"}
    stacked = next(r for r in first["results"] if r["intermediate"] == "toyint")
    assert stacked["stack"] == "frozen" and stacked["artefact"]["intermediate_key"]
    rows = first["table_objs"][0].rows
    assert [row[2] for row in rows] == ["none", "toyint", "Δ toyint"]
    avg = first["table_objs"][0].columns.index("avg")
    assert rows[2][avg].value == pytest.approx(rows[1][avg].value - rows[0][avg].value)
    summary = next(t for t in first["table_objs"] if t.title.startswith("Robustness summary"))
    assert summary.columns == ["task", "intermediate", "clean", "Δ clean"]

    again = Runner(config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "b", method="lora",
                          intermediates=["toyint"])).run()  # fmt: skip
    assert not any("trained lora" in e for e in again["events"])
    assert sum("reused lora intermediate model" in e for e in again["events"]) == 1
    assert by_setting(again["results"]) == by_setting(first["results"])


def test_mixed_adapter_batches_score_like_switching(tiny_model_dir, toy_tasks, toy_data, tmp_path) -> None:
    runs = {}
    for mixed in (True, False):
        cfg = config(tiny_model_dir, toy_tasks, toy_data, tmp_path / str(mixed), method="lora", mixed=mixed,
                     intermediates=["none", "toyint"], noise=["typo:0.2"], log_samples=True)  # fmt: skip
        runs[mixed] = Runner(cfg).run()
    assert by_setting(runs[True]["results"]) == by_setting(runs[False]["results"])
    assert {r["timings"]["models_per_pass"] for r in runs[True]["results"]} == {2}
    samples = [one(tmp_path / str(m) / "samples", "toy_de@clean@toyint.lora.seed0.*") for m in (True, False)]
    assert samples[0] == samples[1]


@pytest.mark.parametrize("stack", ["continue", "merge"])
def test_other_stacks_train_their_own_target(stack, tiny_model_dir, toy_tasks, toy_data, tmp_path) -> None:
    cfg = config(tiny_model_dir, toy_tasks, toy_data, tmp_path / stack, method="lora", stack=stack,
                 intermediates=["toyint"], languages=["en"])  # fmt: skip
    records = Runner(cfg).run()["results"]
    stacked = next(r for r in records if r["intermediate"] == "toyint")
    meta = ArtefactStore(tmp_path / "store").meta(stacked["artefact"]["key"])
    assert meta["stack"] == stack and meta["intermediate"] == stacked["artefact"]["intermediate_key"]


def test_full_fine_tuning_is_sequential(tiny_model_dir, toy_tasks, toy_data, tmp_path) -> None:
    cfg = config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "full", intermediates=["toyint"], languages=["en"])
    records = Runner(cfg).run()["results"]
    store = ArtefactStore(tmp_path / "store")
    stacked = store.meta(next(r for r in records if r["intermediate"] == "toyint")["artefact"]["key"])
    inter = store.meta(stacked["intermediate"])
    assert stacked["stack"] == "sequential" and stacked["role"] == "target" and inter["role"] == "intermediate"
    assert (store.path(stacked["key"]) / "encoder").is_dir() and (store.path(inter["key"]) / "encoder").is_dir()
    assert set(inter["dev_metrics"]["toyint"]) == {"acc"}


def test_harness_train_multi_task_then_use_the_stored_adapter(tiny_model_dir, toy_tasks, toy_data, tmp_path) -> None:
    store = tmp_path / "store"
    common = ["--model", str(tiny_model_dir), "--include-path", str(toy_tasks), "--data-dir", str(toy_data),
              "--adapter-dir", str(store), "--method", "lora", "--output", str(tmp_path / "runs")]  # fmt: skip
    result = CliRunner().invoke(cli, ["train", "--task", "toyint,toy_en", "--temperature", "2", *common])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "dev scores" in flat and "toyint" in flat
    [key] = ArtefactStore(store).keys()
    meta = ArtefactStore(store).meta(key)
    assert meta["tasks"] == ["toyint", "toy"] and meta["role"] == "intermediate"
    assert sorted(meta["heads"].values()) == [["toy"], ["toyint"]]  # one head per job, named by training identity
    assert sorted(p.name for p in (store / key / "heads").iterdir()) == sorted(
        f"{h}.safetensors" for h in meta["heads"]
    )

    listing = CliRunner().invoke(cli, ["adapters", "ls", "--adapter-dir", str(store)])
    assert key[:6] in listing.output
    exported = CliRunner().invoke(cli, ["adapters", "export", key, str(tmp_path), "--adapter-dir", str(store)])
    assert exported.exit_code == 0 and (tmp_path / f"{key}.tar.gz").is_file()
    other = tmp_path / "other-store"
    imported = CliRunner().invoke(cli, ["adapters", "import", str(tmp_path / f"{key}.tar.gz"), "--adapter-dir",
                                        str(other)])  # fmt: skip
    assert imported.exit_code == 0 and ArtefactStore(other).keys() == [key]

    cfg = config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "run", method="lora", intermediates=[f"@{key}"],
                 languages=["en"])  # fmt: skip
    cfg.adapter_dir = other
    records = Runner(cfg).run()["results"]
    assert {r["intermediate"] for r in records} == {"none", f"@{key}"}


def test_bad_stages_are_clear_errors(tiny_model_dir, toy_tasks, toy_data, tmp_path) -> None:
    cfg = config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "t", method="lora", languages=["en"])
    target_key = Runner(cfg).run()["results"][0]["artefact"]["key"]
    with pytest.raises(StoreError, match="stacking a target on it would train a second head"):
        Runner(config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "u", method="lora", languages=["en"],
                      intermediates=[f"@{target_key}"])).run()  # fmt: skip
    with pytest.raises(StoreError, match="is a lora model; this run uses --method full"):
        meta = ArtefactStore(tmp_path / "store").path(target_key) / "meta.json"
        meta.write_text(json.dumps({**json.loads(meta.read_text()), "role": "intermediate"}))
        Runner(config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "v", languages=["en"],
                      intermediates=[f"@{target_key}"])).run()  # fmt: skip
    with pytest.raises(StoreError, match="No artefact '0000deadbeef'"):
        Runner(config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "w", intermediates=["@0000deadbeef"])).run()
    with pytest.raises(StoreError, match="'nope' is not an artefact key"):
        Runner(config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "w", intermediates=["@nope"]))
    with pytest.raises(HarnessError, match="Intermediate 'toy' is 2 tasks"):
        Runner(config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "x", intermediates=["toy"])).run()
    with pytest.raises(HarnessError, match="--stack 'sideways' is not one of"):
        Runner(config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "y", stack="sideways")).run()


def test_a_kill_right_after_an_intermediate_is_stored_keeps_its_dev_scores(tiny_model_dir, toy_tasks, toy_data,
                                                                           tmp_path, monkeypatch) -> None:  # fmt: skip
    save = ArtefactStore.save

    def save_then_die(self, *args, **kwargs):
        save(self, *args, **kwargs)
        raise KeyboardInterrupt  # the run is killed as soon as the artefact is in the store

    monkeypatch.setattr(ArtefactStore, "save", save_then_die)
    cfg = config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "run", method="lora", epochs=1)
    with pytest.raises(KeyboardInterrupt):
        Runner(cfg).train("toyint")
    [key] = ArtefactStore(cfg.adapter_dir).keys()
    assert set(ArtefactStore(cfg.adapter_dir).meta(key)["dev_metrics"]["toyint"]) == {"acc"}
