"""The model in the loop: the query interface, and attacks on every task type, on tiny trained models."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from harness.adapters.bank import Trained
from harness.adapters.lora import LoraHost, lora_config
from harness.attacking import QUERY_BATCH
from harness.cli import cli
from harness.models import load_base
from harness.noise import NoiseError, parse_conditions
from harness.noise.attacks import AttackSpec, read_set
from harness.noise.text import Words
from harness.pipeline import RunConfig, Runner
from harness.query import ModelQuery, QueryBudgetError
from harness.registry import TaskIndex
from harness.report import all_tables
from harness.task import Task

CHARFLIP = "attack:charflip:words=0.2:queries=500"


def config(model: Path, toy_tasks: Path, toy_data: Path, out: Path, **kw) -> RunConfig:
    return RunConfig(model=str(model), data_dir=toy_data, include_paths=[toy_tasks], output=out,
                     adapter_dir=out.parent / "store", **kw)  # fmt: skip


@pytest.fixture(scope="module")
def attacked(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """Classification, multiple choice, span QA and tagging toys, trained, under typo and charflip (adaptive and
    transfer)."""
    from conftest import FIXTURES

    out = tmp_path_factory.mktemp("attacks") / "run"
    cfg = config(tiny_model_dir, FIXTURES / "tasks", FIXTURES / "data", out, tasks=["toy", "toymc", "toyqa", "toytag"],
                 noise=["typo:0.05", "attack:charflip"], limit=24)  # fmt: skip
    return Runner(cfg).run(), out


def records(result: dict, task: str, condition: str) -> dict[str, dict]:
    return {r["language"]: r for r in result["results"] if r["family"] == task and r["condition"] == condition}


def test_query_interleaving_models_equals_calls_in_order(tiny_model_dir, toy_tasks, toy_data) -> None:
    base = load_base(str(tiny_model_dir))
    task = Task(TaskIndex([toy_tasks]).task("toy_de"))
    examples = task.examples("validation", toy_data)
    host = LoraHost(base.encoder)
    torch.manual_seed(0)
    models = []
    for name in ("one", "two"):
        adapter = lora_config(rank=4, alpha=8, dropout=0.0)
        adapter.init_lora_weights = False  # random A and B: the two models really differ
        host.add(name, adapter)
        head = task.type.make_head(base.hidden_size, task.cfg)
        models.append(Trained(name, "target", {task.family: head}, [name], host, info={"args": {"max_length": 32}}))
    cpu = torch.device("cpu")

    def queries(batch_size: int) -> list[ModelQuery]:
        return [ModelQuery(m, task, base, cpu, torch.float32, batch_size) for m in models]

    halves = [examples[:20], examples[20:]]
    qa, qb = queries(8)
    interleaved = [qa(halves[0]), qb(halves[0]), qa(halves[1]), qb(halves[1])]
    qa2, qb2 = queries(3)
    in_order = [qa2(halves[0]), qa2(halves[1]), qb2(halves[0]), qb2(halves[1])]
    probs = lambda scores: [s.probs for s in scores]  # noqa: E731
    for got, want in zip(interleaved, [in_order[0], in_order[2], in_order[1], in_order[3]]):
        assert torch.allclose(torch.tensor(probs(got)), torch.tensor(probs(want)), atol=1e-5)
    assert probs(interleaved[0]) != probs(interleaved[1])  # two models, two answers
    distinct = len({(e["text"], e["text_pair"], e["target"]) for e in examples})
    assert qa.queries == distinct < len(examples)  # a text is scored once, however often it is asked
    assert qa(examples) and qa.queries == distinct  # exact repeats come from the cache, uncounted
    capped = ModelQuery(models[0], task, base, cpu, torch.float32, 8, budget=10)
    with pytest.raises(QueryBudgetError, match="budget of 10"):
        capped(examples)
    features = Path(os.environ["HARNESS_CACHE"]) / "features"
    before = set(features.iterdir()) if features.exists() else set()
    ModelQuery(models[1], task, base, cpu, torch.float32, 8)([{**examples[0], "text": "ganz neuer Text"}])
    assert (set(features.iterdir()) if features.exists() else set()) == before  # nothing written to the cache


def test_charflip_lowers_accuracy_more_than_typo_changing_fewer_words(attacked) -> None:
    result, _ = attacked
    attack, typo, clean = (records(result, "toy", c) for c in (CHARFLIP, "typo:0.05", "clean"))
    for language in ("en", "de"):
        stats = attack[language]["attack"]
        assert stats["words_changed"] < typo[language]["noise"]["wer"]  # fewer words changed than random typos ...
        assert attack[language]["score"] < typo[language]["score"] < clean[language]["score"] + 1e-9  # ... hurt more
        assert stats["success_rate"] > 30 and 0 < stats["queries"] <= 500 and stats["exhausted"] == 0
        assert stats["attackable"] == round(clean[language]["score"] * clean[language]["n"] / 100)
        shift = stats["shift"]
        assert sum(shift["clean"].values()) == sum(shift["attacked"].values()) == clean[language]["n"]
        assert sum(shift["flips"].values()) >= stats["broken"]


def test_every_stored_example_keeps_its_budget_and_changes_only_its_edits(attacked) -> None:
    _, out = attacked
    sets = sorted((out / "attack-sets").glob("*.jsonl"))
    assert {p.name.split("@")[0] for p in sets} == {f"{t}_{lang}" for t in ("toy", "toymc", "toyqa", "toytag")
                                                   for lang in ("en", "de")}  # fmt: skip
    task_index = TaskIndex([Path(__file__).parent / "fixtures" / "tasks"])
    for path in sets:
        rows = read_set(path)
        task = Task(task_index.task(rows[0]["task"]))
        clean = {e["id"]: e for e in task.examples("validation", Path(__file__).parent / "fixtures" / "data")}
        for row in rows:
            budget, before, after = row["budget"], clean[row["id"]], row["example"]
            assert row["queries"] <= budget["queries"]
            assert len(row["edits"]) <= max(1, int(budget["words"] * row["words"]))
            assert len({(e["field"], e["item"], e["word"]) for e in row["edits"]}) == len(row["edits"])  # once each
            for name in task.noise_fields:
                parts = [(before[name], after[name], -1)] if isinstance(before[name], str) or name == "tokens" else [
                    (b, a, i) for i, (b, a) in enumerate(zip(before[name], after[name]))]  # fmt: skip
                for b, a, item in parts:
                    edits = {e["word"]: e for e in row["edits"] if (e["field"], e["item"]) == (name, item)}
                    words = b if name == "tokens" else Words.of_text(b).words
                    assert all(words[i] == e["from"] for i, e in edits.items())
                    replaced = [edits[i]["to"] if i in edits else w for i, w in enumerate(words)]
                    clean_words = Words.of_text(b) if name != "tokens" else None
                    rebuilt = replaced if clean_words is None else Words(replaced, clean_words.gaps, []).text()
                    assert rebuilt == a  # the clean text with exactly the stated edits
            if "charflip" in path.name:
                from harness.noise.attacks.transform import clusters, edit_distance

                assert all(1 <= edit_distance(clusters(e["from"]), clusters(e["to"])) <= budget["edits"]
                           for e in row["edits"])  # fmt: skip


def test_span_qa_attacks_never_touch_the_gold_answer(attacked) -> None:
    result, out = attacked
    rows = [row for path in (out / "attack-sets").glob("toyqa_*.jsonl") for row in read_set(path)]
    assert any(row["edits"] and any(e["field"] == "context" for e in row["edits"]) for row in rows)
    for row in rows:
        target, context = row["example"]["target"], row["example"]["context"]
        for text, start in zip(target["text"], target["answer_start"]):
            assert context[start : start + len(text)] == text
    assert all(r["attack"]["success_rate"] is not None for r in records(result, "toyqa", CHARFLIP).values())


def test_tagging_attacks_keep_one_label_per_word(attacked) -> None:
    result, out = attacked
    rows = [row for path in (out / "attack-sets").glob("toytag_*.jsonl") for row in read_set(path)]
    assert sum(len(row["edits"]) for row in rows) > 0
    for row in rows:
        tokens, tags = row["example"]["tokens"], row["example"]["target"]
        assert len(tokens) == len(tags) and all(t and not any(c.isspace() for c in t) for t in tokens)
    for language, r in records(result, "toytag", CHARFLIP).items():
        assert r["score"] <= records(result, "toytag", "clean")[language]["score"]


def test_multiple_choice_attacks_edit_the_text_and_each_choice_apart(attacked) -> None:
    result, out = attacked
    rows = [row for path in (out / "attack-sets").glob("toymc_*.jsonl") for row in read_set(path)]
    edited = {(e["field"], e["item"]) for row in rows for e in row["edits"]}
    assert ("text", -1) in edited and {("choices", 0), ("choices", 1)} & edited  # premise and choices are words
    assert all(len(row["example"]["choices"]) == 2 and row["example"]["target"] in (0, 1) for row in rows)
    clean = records(result, "toymc", "clean")
    for language, r in records(result, "toymc", CHARFLIP).items():
        stats = r["attack"]
        assert stats["attackable"] == round(clean[language]["score"] * clean[language]["n"] / 100) > 0
        assert stats["success_rate"] is not None and r["score"] <= clean[language]["score"]
        assert sum(stats["shift"]["attacked"].values()) == clean[language]["n"]


def test_a_stored_set_on_its_source_model_reproduces_the_adaptive_numbers(attacked, tiny_model_dir, toy_tasks,
                                                                          toy_data) -> None:  # fmt: skip
    result, out = attacked
    transfer = records(result, "toy", f"{CHARFLIP}:mode=transfer")
    adaptive = records(result, "toy", CHARFLIP)
    sets = sorted((out / "attack-sets").glob("toy_*@charflip@none-*.jsonl"))
    assert len(sets) == 2  # the baseline's adaptive set is the transfer set: made once per language
    for path in sets:
        again = Runner(config(tiny_model_dir, toy_tasks, toy_data, out, tasks=["toy"], noise=[f"attack-set:{path}"]))
        rows = read_set(path)
        got = records(again.run(), "toy", f"attack-set:{path}")
        language = rows[0]["language"]
        assert set(got) == {"en", "de"} and got[{"en": "de", "de": "en"}[language]]["skipped"]  # the other language
        for want in (adaptive[language], transfer[language]):
            assert got[language]["score"] == want["score"] and got[language]["metrics"] == want["metrics"]
            for key in ("success_rate", "words_changed", "queries", "exhausted", "shift", "source"):
                assert got[language]["attack"][key] == want["attack"][key]


def test_attacks_do_not_depend_on_the_batch_size(attacked, tiny_model_dir, toy_tasks, toy_data, tmp_path,
                                                 monkeypatch) -> None:  # fmt: skip
    _, out = attacked
    made, scores = {}, {}
    asked = ModelQuery.__call__

    def recorded(query: ModelQuery, examples: list) -> list:
        answers = asked(query, examples)
        scores.setdefault(query.batch_size, []).extend(s.probs for s in answers)
        return answers

    monkeypatch.setattr(ModelQuery, "__call__", recorded)
    for batch_size in (1, 5):
        cfg = config(tiny_model_dir, toy_tasks, toy_data, tmp_path / str(batch_size), tasks=["toy"],
                     languages=["de"], noise=[f"{CHARFLIP}:mode=adaptive"], batch_size=batch_size, limit=16)  # fmt: skip
        cfg.adapter_dir = out.parent / "store"  # the trained model of the module's run
        scores.clear()
        Runner(cfg).run()
        (path,) = (tmp_path / str(batch_size) / "attack-sets").glob("*.jsonl")
        made[batch_size] = [{k: r[k] for k in ("example", "edits", "queries")} for r in read_set(path)]
        assert set(scores) == {QUERY_BATCH}  # attack queries go in batches of their own, whatever --batch-size
        made[batch_size].append(scores[QUERY_BATCH])  # every score the attack saw, to the last bit
    assert made[1] == made[5]


def test_cli_report_shows_attacks_beside_noise_and_the_prediction_shift(attacked) -> None:
    _, out = attacked
    shown = CliRunner().invoke(cli, ["report", str(out), "--format", "markdown"])
    assert shown.exit_code == 0, shown.output
    assert "### Adversarial attacks (per language)" in shown.output and "drop typo:0.05" in shown.output
    assert "success %" in shown.output and "### Prediction shift under attack" in shown.output
    assert "examples made against none" in shown.output  # the transfer rows


def test_attack_conditions_parse_and_bad_ones_say_how_to_fix_them(tmp_path) -> None:
    adaptive, transfer = parse_conditions(["typo:0.1,attack:charflip:queries=50"])[1:]
    assert adaptive == AttackSpec("charflip", queries=50) and transfer.mode == "transfer"
    assert str(transfer) == "attack:charflip:words=0.2:queries=50:mode=transfer"
    for bad, message in [
        ("attack:charflp", "Did you mean 'charflip'"),
        ("attack:charflip:word=0.3", "Did you mean 'words'"),
        ("attack:charflip:words=2", "share of the words"),
        ("attack:charflip:queries=x", "is not a int"),
        ("attack:homoglyph:dict=x.txt", "dict= is for codemix"),
        (f"attack-set:{tmp_path}/missing.jsonl", "no such file"),
    ]:
        with pytest.raises(NoiseError, match=message):
            parse_conditions([bad])


def test_a_language_without_a_dictionary_is_a_reported_skip_for_noise_and_attack_alike(attacked, tiny_model_dir,
                                                                                      toy_tasks, toy_data,
                                                                                      tmp_path) -> None:  # fmt: skip
    from conftest import FIXTURES

    _, out = attacked
    muse = f"dict={FIXTURES}/muse/{{lang}}-en.txt"
    codeswitch, codemix = f"codeswitch:0.5:{muse}", f"attack:codemix:{muse}:mode=adaptive"
    cfg = config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "run", tasks=["toy"], noise=[codeswitch, codemix])
    cfg.adapter_dir = out.parent / "store"
    result = Runner(cfg).run()
    conditions = [c for c in dict.fromkeys(r["condition"] for r in result["results"]) if c != "clean"]
    for condition in conditions:  # English has no en-en dictionary: skipped, German is scored
        got = records(result, "toy", condition)
        assert "en-en.txt" in got["en"]["skipped"] and got["en"]["score"] is None
        assert not got["de"].get("skipped") and got["de"]["score"] is not None
    assert records(result, "toy", conditions[0])["de"]["noise"]["wer"] > 0
    assert records(result, "toy", conditions[1])["de"]["attack"]["words_changed"] > 0
    for tables in (result["table_objs"], all_tables(result["results"], {}, "")):  # the run's and harness report's
        titled = {t.title.split(" (")[0]: t for t in tables}
        assert [row[:3] for row in titled["Noise conditions skipped per language"].rows] == [
            ["toy", conditions[0], "en"]]  # fmt: skip
        assert any("en-en.txt" in str(row[-1]) for row in titled["Adversarial attacks"].rows)
        assert f"toy {conditions[0]} (not en)" in titled["Robustness summary"].caption
    assert all(json.dumps(r) for r in result["results"])
    shown = CliRunner().invoke(cli, ["report", str(tmp_path / "run"), "--format", "markdown"])
    assert "### Noise conditions skipped per language" in shown.output and "en-en.txt" in shown.output
    for condition in (codeswitch, codemix):  # no language has one: a wrong path, said before any training
        nowhere = condition.replace(str(FIXTURES / "muse"), str(tmp_path))
        with pytest.raises(NoiseError, match="no language of this run has a dictionary"):
            Runner(config(tiny_model_dir, toy_tasks, toy_data, tmp_path / "bad", tasks=["toy"], noise=[nowhere])).run()


def test_attacks_run_in_their_own_dtype_whatever_the_evaluation_dtype(attacked, tiny_model_dir, toy_tasks, toy_data,
                                                                       tmp_path) -> None:  # fmt: skip
    """A bf16 evaluation stores the Linear weights in bf16 for a cell; an attack's fp32 queries must not meet them."""
    _, out = attacked
    made = {}
    for dtype in ("float32", "bfloat16"):
        cfg = config(tiny_model_dir, toy_tasks, toy_data, tmp_path / dtype, tasks=["toy"], languages=["de"],
                     noise=[f"{CHARFLIP}:mode=adaptive"], dtype=dtype, limit=16)  # fmt: skip
        cfg.adapter_dir = out.parent / "store"  # the trained model of the module's run
        Runner(cfg).run()
        (path,) = (tmp_path / dtype / "attack-sets").glob("*.jsonl")
        made[dtype] = [{k: r[k] for k in ("example", "edits", "queries")} for r in read_set(path)]
    assert made["bfloat16"] == made["float32"]
