"""span_qa: windows, labels, answers mapped back through offsets, the squad reader, QA specs, end to end."""

from __future__ import annotations

import json
import logging
import math
import random
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from span_search_reference import reference_answer, window_n_best
from test_pipeline import one
from transformers import AutoTokenizer

from harness.data import source_context
from harness.errors import DataError, SpecError
from harness.generate import generated_files
from harness.metrics.squad import normalize_squad
from harness.models import TinySize, build_tiny
from harness.pipeline import RunConfig, Runner
from harness.readers import squad as squad_reader
from harness.readers.squad import read_squad
from harness.registry import TaskIndex, builtin_tasks_dir
from harness.spec import TaskConfig
from harness.task import Task
from harness.tasktypes.span_qa import (
    DOC_STRIDE,
    MAX_ANSWER_TOKENS,
    MAX_QUESTION_TOKENS,
    N_BEST,
    SpanQA,
    answer_chars,
    max_context,
)
from harness.templating import render
from harness.yamlio import FunctionRef

QA = SpanQA()
XQUAD_LANGUAGES = ["ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path):
    return AutoTokenizer.from_pretrained(tiny_model_dir)


def example(context: str, answer: str | None, index: int = 0, question: str = "Which city is it?") -> dict:
    target = (
        {"text": [answer], "answer_start": [context.rindex(answer)]} if answer else {"text": [], "answer_start": []}
    )
    return QA.prepare(
        TaskConfig(task="t", task_type="span_qa"),
        {"id": str(index), "index": index, "question": question, "context": context, "target": target},
    )


def features_of(examples: list[dict], tokenizer, max_length: int) -> list[dict]:
    columns = QA.encode(examples, tokenizer, max_length, None)
    return [dict(zip(columns, values)) for values in zip(*columns.values())]


def gold_span(feature: dict) -> tuple[int, int]:
    return feature["start_position"] - feature["context_start"], feature["end_position"] - feature["context_start"]


# ----------------------------------------------------------------------------- windows and labels


def test_an_answer_near_the_end_of_a_long_context_is_found_in_a_later_window(tokenizer):
    context = " ".join(["the river is quiet and the dog sleeps near the bank"] * 30) + " The city is Madrid."
    ex = example(context, "Madrid")
    features = features_of([ex], tokenizer, 64)
    assert len(features) > 5
    labelled = [i for i, f in enumerate(features) if f["start_position"]]
    assert labelled and labelled[0] > 0 and 0 not in labelled
    for i, f in enumerate(features):
        if i not in labelled:
            assert (f["start_position"], f["end_position"]) == (0, 0)  # points at <s>
    f = features[labelled[-1]]
    start, end = gold_span(f)
    assert context[f["offsets"][start][0] : f["offsets"][end][1]] == "Madrid"
    # the prediction folds the windows back: best span in the window that holds the answer
    outputs = [{"best": (2.0, 0, 1), "null": 0.0} for _ in features]
    outputs[labelled[-1]] = {"best": (18.0, f["offsets"][start][0], f["offsets"][end][1]), "null": 0.0}
    columns = {"example_index": [f["example_index"] for f in features]}
    assert QA.predict(outputs, columns, [ex], TaskConfig(task="t", task_type="span_qa")) == ["Madrid"]


@pytest.mark.parametrize("max_length", [40, 64, 384])
def test_windows_tile_the_context_with_overlap(tokenizer, max_length):
    context = " ".join(f"Sentence number {i} is about the river." for i in range(60))
    features = features_of([example(context, None)], tokenizer, max_length)
    whole = [
        list(o) for o in tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    ]
    covered = set()
    for f in features:
        first, n = f["window_start"], len(f["offsets"])
        assert [list(o) for o in f["offsets"]] == whole[first : first + n]  # window k starts k steps in
        assert f["length"] == len(f["input_ids"]) <= max_length
        covered.update(range(first, first + n))
    assert covered == set(range(len(whole)))
    for a, b in zip(features, features[1:]):
        step = b["window_start"] - a["window_start"]
        assert 1 <= step <= 128 and step <= len(a["offsets"]) // 2 + 1  # XTREME's stride, at most half a window


def test_questions_are_cut_to_64_tokens(tokenizer):
    features = features_of([example("The city is Lima.", "Lima", question="why " * 200)], tokenizer, 384)
    assert features[0]["context_start"] == 1 + 64 + 2  # <s> question </s></s>
    assert features[0]["start_position"] > 0


def test_answer_whitespace_is_not_part_of_the_label():
    assert answer_chars(" Lima ", 10) == (11, 15)
    assert answer_chars("   ", 3) is None


def test_prepare_rejects_malformed_answers():
    cfg = TaskConfig(task="t", task_type="span_qa")
    base = {"id": "q1", "index": 0, "question": "q", "context": "The city is Lima."}
    with pytest.raises(SpecError, match="SQuAD-style"):
        QA.prepare(cfg, {**base, "target": "Lima"})
    with pytest.raises(SpecError, match="outside its context"):
        QA.prepare(cfg, {**base, "target": {"text": ["Lima"], "answer_start": [40]}})


# ----------------------------------------------------------------------------- n-best search


CONTEXT = "".join(f"{chr(97 + i % 26)} " for i in range(400))


def window(logits: list, context_start: int, first: int, n: int) -> dict:
    """One window: per-token (start, end) logits, ``n`` context tokens from context token ``first``."""
    return {"logits": logits, "context_start": context_start, "window_start": first,
            "offsets": [[2 * p, 2 * p + 1] for p in range(first, first + n)]}  # fmt: skip


def search(questions: list[list[dict]], allow_no_answer: bool, device: str = "cpu", seed: int = 0) -> list[str]:
    """Answers through the harness's path: every question's windows (``window``) collated in shuffled, padded
    batches, searched on ``device`` (``outputs``), folded per question by ``predict``."""
    rows = []
    for q, windows in enumerate(questions):
        flags = max_context([(w["window_start"], len(w["offsets"])) for w in windows])
        for w, window_flags in zip(windows, flags):
            rows.append({**w, "input_ids": [5] * len(w["logits"]), "max_context": window_flags, "example_index": q,
                         "start_position": 0, "end_position": 0})  # fmt: skip
    order, rng = list(range(len(rows))), random.Random(seed)
    rng.shuffle(order)
    outputs: list = [None] * len(rows)
    while order:
        taken = order[: rng.randint(1, 9)]
        order = order[len(taken) :]
        batch = QA.collate([rows[i] for i in taken], pad_id=1)
        logits = torch.randn(len(taken), batch["input_ids"].shape[1], 2) * 3  # padding: anything (not context)
        for b, i in enumerate(taken):
            logits[b, : len(rows[i]["logits"])] = torch.tensor(rows[i]["logits"])
        batch = {k: v.to(device) for k, v in batch.items()}
        for i, out in zip(taken, QA.outputs(logits.to(device), batch)):
            outputs[i] = out
    columns = {"example_index": [r["example_index"] for r in rows]}
    examples = [{"index": q, "context": CONTEXT} for q in range(len(questions))]
    cfg = TaskConfig(task="t", task_type="span_qa", allow_no_answer=allow_no_answer)
    return QA.predict(outputs, columns, examples, cfg)


def flat(n: int, value: float = -5.0) -> list[list[float]]:
    return [[value, value] for _ in range(n)]


def test_the_search_respects_order_and_maximum_length():
    logits = flat(60)
    logits[11][0], logits[4][0] = 5.0, 0.1  # starts: context tokens 10 and 3 (the context starts at token 1)
    logits[6][1], logits[11 + MAX_ANSWER_TOKENS][1], logits[13][1] = 5.0, 4.0, 0.5  # ends: 5, 40 and 12
    # (10, 5) ends before it starts, (10, 40) is 31 tokens long: (10, 12) scores 5.5, beating (3, 5) at 5.1
    assert search([[window(logits, 1, 0, 58)]], allow_no_answer=False) == [CONTEXT[20:25]]
    assert search([[window(flat(10), 9, 0, 0)]], allow_no_answer=False) == [""]  # no context token: no span


def test_a_start_counts_only_in_the_window_where_it_has_most_context():
    # token 15 sits 15 from the left edge of window 0 (50 tokens) and 5 from that of window 1 (from 10): window 0 wins
    strong, weak = flat(52), flat(52)
    strong[1 + 5][0] = strong[1 + 6][1] = 9.0  # window 1: context tokens 15..16
    weak[1 + 15][0] = weak[1 + 16][1] = 1.0  # window 0: context tokens 15..16
    assert search([[window(weak, 1, 0, 50), window(strong, 1, 10, 50)]], False) == [CONTEXT[30:33]]


def test_no_answer_wins_only_when_the_lowest_null_score_beats_the_best_span():
    def question(null_a: float, null_b: float) -> list[dict]:
        a, b = flat(8), flat(8, value=-100.0)
        a[0] = [null_a / 2, null_a / 2]
        a[1 + 1] = [2.0, 2.0]  # context token 1 as start and end: 4.0
        b[0] = [null_b / 2, null_b / 2]
        return [window(a, 1, 0, 6), window(b, 1, 6, 0)]  # the second window has no context token

    assert search([question(5.0, 9.0)], allow_no_answer=True) == [""]  # min null 5 > 4
    assert search([question(4.0, 9.0)], allow_no_answer=True) == [CONTEXT[2:3]]  # a tie keeps the span
    assert search([question(9.0, 3.0)], allow_no_answer=True) == [CONTEXT[2:3]]  # min null 3 < 4
    assert search([question(5.0, 9.0)], allow_no_answer=False) == [CONTEXT[2:3]]


def random_question(rng: random.Random, ties: bool) -> list[dict]:
    """1-4 overlapping windows of up to 48 tokens; logits from {-2..2} (ties everywhere) or fp32 draws."""
    context_start, width = rng.randint(1, 6), rng.randint(8, 48)
    room, count = width - context_start - 1, rng.randint(1, 4)
    step = rng.randint(1, max(1, room // 2))
    total = room + step * (count - 1) - rng.randint(0, step - 1)
    windows = []
    for w in range(count):
        n = min(room, total - w * step)
        draw = (lambda: float(rng.randint(-2, 2))) if ties else (lambda: float(np.float32(rng.gauss(0, 3))))
        windows.append(window([[draw(), draw()] for _ in range(context_start + n + 1)], context_start, w * step, n))
    return windows


def reference(questions: list[list[dict]], allow_no_answer: bool) -> list[str]:
    answers = []
    for windows in questions:
        searched = []
        for w in windows:
            starts, ends = [v[0] for v in w["logits"]], [v[1] for v in w["logits"]]
            candidates = window_n_best(starts, ends, w["context_start"], len(w["offsets"]))
            null = float(np.float32(starts[0]) + np.float32(ends[0]))  # summed in fp32 on the device, as before
            searched.append({**w, **candidates, "null": null})
        answers.append(reference_answer(CONTEXT, searched, allow_no_answer))
    return answers


@pytest.mark.parametrize("device", ["cpu", *(["cuda"] if torch.cuda.is_available() else [])])
def test_the_device_search_gives_the_python_search_s_answers_ties_included(device):
    """600 random questions (half with integer logits, so equal scores everywhere): the batched tensor search gives
    exactly the answers of the Python loop it replaced, with and without no-answer."""
    rng = random.Random(0)
    questions = [random_question(rng, ties=q % 2 == 0) for q in range(600)]
    assert max(len(w["logits"]) for q in questions for w in q) > N_BEST  # the n-best cut matters
    for allow_no_answer in (False, True):
        expected = reference(questions, allow_no_answer)
        assert search(questions, allow_no_answer, device) == expected
        assert sum(a != "" for a in expected) > 300 and len(set(expected)) > 100


def test_max_context_flags_follow_bert_s_rule():
    flags = max_context([(0, 50), (10, 50), (20, 5)])
    assert flags[0] == [True] * 30 + [False] * 20  # token 30: 19 tokens to window 0's right edge, 20 in window 1
    assert flags[1] == [False] * 20 + [True] * 30
    assert flags[2] == [False] * 5  # a short window never gives the most context
    assert max_context([(0, 10), (5, 0)]) == [[True] * 10, []] and max_context([]) == []


# ----------------------------------------------------------------------------- gold answers of the real data


@pytest.fixture(scope="module")
def data_tokenizer(shared_data: Path):
    """A tokenizer trained on the QA data itself, like the smoke preset's (smaller, to stay quick)."""
    texts = []
    for path in sorted((shared_data / "xquad").glob("*.json")):
        texts += [p["context"] for a in json.loads(path.read_text())["data"] for p in a["paragraphs"]][:25]
    train = shared_data / "tydiqa/tydiqa-goldp-v1.1-train/tydiqa.goldp.en.train.json"
    texts += [p["context"] for a in json.loads(train.read_text())["data"] for p in a["paragraphs"]][:25]
    return AutoTokenizer.from_pretrained(
        build_tiny(texts, TinySize(hidden_size=32, layers=1, heads=2, vocab_size=3000))
    )


def labelled_qa_splits() -> list[tuple[str, str]]:
    """Every labelled QA file of ../shared/data; its TyDiQA dev files have had their answers stripped."""
    return [(f"xquad_{lang}", "test") for lang in XQUAD_LANGUAGES] + [("tydiqa_en", "train")]


def test_every_gold_answer_survives_tokenisation_and_mapping_back(shared_data, data_tokenizer):
    """Each gold answer lies wholly in a 384-token window (unless it is longer than windows overlap), and the
    characters its tokens' offsets cover are the answer itself or, where an answer boundary falls inside a
    token, the answer plus the rest of that token (the counts are printed; run with -s)."""
    index = TaskIndex()
    overlap = 384 - MAX_QUESTION_TOKENS - 4 - DOC_STRIDE  # the least overlap of two windows
    print("\ntask: answers, exact, boundary inside a token (EM-equal under SQuAD v1.1), longer than the overlap")
    for name, split in labelled_qa_splits():
        examples = Task(index.task(name)).examples(split, shared_data)
        features = features_of(examples, data_tokenizer, 384)
        found: dict[int, tuple[int, int, list]] = {}
        for f in features:
            if f["start_position"]:
                found.setdefault(f["example_index"], (*gold_span(f), f["offsets"]))
        inside = same_under_metric = too_long = 0
        for ex in examples:
            answer = ex["target"]["text"][0]
            if ex["index"] not in found:
                assert len(data_tokenizer(answer, add_special_tokens=False)["input_ids"]) > overlap, (name, ex["id"])
                too_long += 1
                continue
            start, end, offsets = found[ex["index"]]
            begin, stop = answer_chars(answer, ex["target"]["answer_start"][0])
            left, right = offsets[start][0], offsets[end][1]
            recovered = ex["context"][left:right]
            assert left <= begin < offsets[start][1] and offsets[end][0] < stop <= right, (name, ex["id"])
            assert recovered[begin - left : stop - left] == answer.strip(), (name, ex["id"])
            if recovered != answer.strip():
                inside += 1
                same_under_metric += normalize_squad(recovered) == normalize_squad(answer)
        exact = len(examples) - inside - too_long
        print(f"  {name:10s} {len(examples):5d} {exact:5d} {inside:4d} ({same_under_metric:3d}) {too_long}")


def test_xtreme_stripped_tydiqa_dev_files_predict_but_do_not_score(shared_data, caplog):
    index = TaskIndex()
    squad_reader._warn_unlabelled.cache_clear()  # warned once per folder and process
    with caplog.at_level(logging.WARNING):
        examples = Task(index.task("tydiqa_fi")).examples("validation", shared_data)
    assert len(examples) == 782 and not any(e["target"]["text"] for e in examples)
    assert "tydiqa-goldp-v1.1-dev: no gold answers in tydiqa.goldp.fi.dev.json" in caplog.text
    # the hub hook passes XTREME's per-language files through: the training file's ids lost their language
    assert len(Task(index.task("tydiqa_en")).docs("train", shared_data)) == 3696


# ----------------------------------------------------------------------------- reader and specs


def write_squad(path: Path, qas: list[dict], context: str = "The city is Lima.") -> str:
    path.write_text(
        json.dumps({"version": "x", "data": [{"title": "T", "paragraphs": [{"context": context, "qas": qas}]}]})
    )
    return str(path)


def test_squad_reader_flattens_questions_and_keeps_no_answer_empty(tmp_path):
    path = write_squad(
        tmp_path / "v2.json",
        [
            {"id": "a", "question": "q1", "answers": [{"text": "Lima", "answer_start": 12}]},
            {
                "id": "b",
                "question": "q2",
                "answers": [],
                "is_impossible": True,
                "plausible_answers": [{"text": "x", "answer_start": 0}],
            },
        ],
    )
    docs = read_squad([path])
    assert docs[0] == {
        "id": "a",
        "title": "T",
        "context": "The city is Lima.",
        "question": "q1",
        "answers": {"text": ["Lima"], "answer_start": [12]},
    }
    assert docs[1]["answers"] == {"text": [], "answer_start": []}
    stripped = write_squad(
        tmp_path / "s.json", [{"id": "c", "question": "q", "answers": [{"text": "", "answer_start": 0}]}]
    )
    assert read_squad([stripped])[0]["answers"] == {"text": [], "answer_start": []}
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="not SQuAD-format"):
        read_squad([str(tmp_path / "bad.json")])


def test_tydiqa_hook_keeps_the_task_language():
    keep = FunctionRef(builtin_tasks_dir() / "tydiqa", "utils.keep_language").resolve()
    hub = datasets.Dataset.from_dict({"id": ["finnish--12-0", "english-34-1", "finnish-56-2"]})
    assert keep(hub, language="fi")["id"] == ["finnish--12-0", "finnish-56-2"]
    xtreme = datasets.Dataset.from_dict({"id": ["12", "34"]})
    assert keep(xtreme, language="en")["id"] == ["12", "34"]


@pytest.mark.parametrize(
    "task, split, hub, local",
    [
        ("xquad_de", "train", ("rajpurkar/squad", None, "train"), "squad/train-v1.1.json"),
        ("xquad_ro", "test", ("google/xquad", "xquad.ro", "validation"), "xquad/xquad.ro.json"),
        (
            "mlqa_zh",
            "test",
            ("google/xtreme", "MLQA.zh.zh", "test"),
            "mlqa/MLQA_V1/test/test-context-zh-question-zh.json",
        ),
        (
            "mlqa_xl_ar-de",
            "validation",
            ("google/xtreme", "MLQA.ar.de", "validation"),
            "mlqa/MLQA_V1/dev/dev-context-ar-question-de.json",
        ),
        (
            "tydiqa_sw",
            "validation",
            ("google-research-datasets/tydiqa", "secondary_task", "validation"),
            "tydiqa/tydiqa-goldp-v1.1-dev/tydiqa.goldp.sw.dev.json",
        ),
        ("squad_v2", "validation", ("rajpurkar/squad_v2", None, "validation"), "squad/dev-v2.0.json"),
    ],
)
def test_qa_specs_name_hub_and_local_sources(task, split, hub, local):
    cfg = TaskIndex().task(task)
    ctx = source_context(cfg, split)
    name = render(cfg.dataset_name, ctx, where=task) if cfg.dataset_name else None
    assert (render(cfg.dataset_path, ctx, where=task), name, cfg.hub_splits.get(split, split)) == hub
    assert render(cfg.data_files[split], ctx, where=task) == local


def test_qa_families_are_generated_and_complete():
    index = TaskIndex()
    for family, n in [("xquad", 12), ("mlqa", 7), ("mlqa_xl", 49), ("tydiqa", 9)]:
        common = builtin_tasks_dir() / family / f"{family}_common"
        for path, text in generated_files(common).items():
            assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run harness tasks generate"
        assert len(index.expand(family)) == n
    assert index.task("squad_v2").allow_no_answer and not index.task("squad").allow_no_answer
    assert index.task("xquad_en").training.max_length == 384


# ----------------------------------------------------------------------------- end to end


def test_pipeline_trains_and_evaluates_a_squad_format_task(tiny_model_dir, toy_tasks, toy_data, tmp_path):
    config = RunConfig(
        tasks=["toyqa"],
        model=str(tiny_model_dir),
        data_dir=toy_data,
        include_paths=[toy_tasks],
        output=tmp_path / "runs",
        adapter_dir=tmp_path / "adapters",
        log_samples=True,
        device="cpu",
    )
    result = Runner(config).run()
    by_language = {r["language"]: r for r in result["results"]}
    assert set(by_language) == {"en", "de"}
    en = by_language["en"]
    assert en["score_name"] == "em_f1_mean" and en["score"] == (en["metrics"]["exact_match"] + en["metrics"]["f1"]) / 2
    assert en["metrics"]["f1"] > 50, en["metrics"]  # the tiny model learns where the city is
    rows = {tuple(row[:2]) for row in result["tables"][0]["rows"]}
    assert rows == {("toyqa", "exact_match"), ("toyqa", "f1")}
    samples = [json.loads(line) for line in one(tmp_path / "runs/samples", "toyqa_en@clean@*").splitlines()]
    assert all(isinstance(s["prediction"], str) for s in samples)
    assert not math.isnan(by_language["de"]["metrics"]["f1"])


def test_xquad_and_mlqa_share_one_trained_model_and_its_head(tiny_model_dir, toy_data, tmp_path):
    """XQuAD and MLQA both fine-tune on SQuAD: one stored model serves both, in one run and across runs."""
    data = tmp_path / "data"
    squad = (toy_data / "toyqa" / "train-en.json").read_text(encoding="utf-8")
    for name in ("squad/train-v1.1.json", "xquad/xquad.en.json", "mlqa/MLQA_V1/dev/dev-context-en-question-en.json"):
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_text(
            squad if name.startswith("squad") else (toy_data / "toyqa" / "dev-en.json").read_text(encoding="utf-8"),
            encoding="utf-8",
        )
    common = dict(model=str(tiny_model_dir), data_dir=data, adapter_dir=tmp_path / "adapters", device="cpu",
                  max_length=64, epochs=1)  # fmt: skip
    both = Runner(RunConfig(tasks=["xquad_en", "mlqa_en"], output=tmp_path / "one", **common)).run()
    assert {r["family"] for r in both["results"]} == {"xquad", "mlqa"}
    assert len({r["artefact"]["key"] for r in both["results"]}) == 1  # one training identity, one model
    alone = Runner(RunConfig(tasks=["mlqa_en"], output=tmp_path / "two", **common)).run()  # reuses it
    assert alone["results"][0]["artefact"]["reused"]
    assert alone["results"][0]["metrics"] == next(r for r in both["results"] if r["family"] == "mlqa")["metrics"]
