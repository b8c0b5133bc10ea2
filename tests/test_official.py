"""Every number as google-research/xtreme's evaluate.py computes it: benchmark versions, group scores."""

from __future__ import annotations

import math

import pytest

from harness.metrics import compute, headline
from harness.registry import TaskIndex
from harness.report import benchmark_scores, benchmark_tables, group_scores

# evaluate.py's XTREME_TASK2LANGS and XTREME_R_TASK2LANGS (LAReQA: none there; its XQuAD-R languages here)
XTREME = {
    "pawsx": "de en es fr ja ko zh",
    "xnli": "ar bg de el en es fr hi ru sw th tr ur vi zh",
    "panx": "ar he vi id jv ms tl eu ml ta te af nl en de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw yo my "
    "zh kk tr et fi hu",
    "udpos": "af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur vi yo zh",
    "bucc2018": "de fr ru zh",
    "tatoeba": "ar he vi id jv tl eu ml ta te af nl de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw zh kk tr "
    "et fi hu",
    "xquad": "en es de el ru tr ar vi th zh hi",
    "mlqa": "en es de ar hi vi zh",
    "tydiqa": "en ar bn fi id ko ru sw te",
}
XTREME_R = {
    "xnli": XTREME["xnli"],
    "panx": XTREME["panx"] + " qu pl uk az lt pa gu ro",
    "udpos": XTREME["udpos"] + " lt pl uk wo ro",
    "tatoeba": XTREME["tatoeba"] + " az lt pl uk ro",
    "xcopa": "et ht id it qu sw ta th tr vi zh",
    "lareqa": "ar de el en es hi ru th tr vi zh",
    "mewslix": "ar de en es fa ja pl ro ta tr uk",
    "xquad": XTREME["xquad"] + " ro",
    "mlqa": XTREME["mlqa"],
    "tydiqa": XTREME["tydiqa"],
}


@pytest.mark.parametrize("version, lists", [("xtreme", XTREME), ("xtreme-r", XTREME_R)])
def test_each_benchmark_runs_exactly_its_own_versions_languages(version: str, lists: dict[str, str]) -> None:
    index = TaskIndex()
    found: dict[str, list[str]] = {}
    for name in index.expand(version):
        found.setdefault(index.parent_groups(name)[0], []).append(index.task(name).language)
    assert {family: sorted(langs) for family, langs in found.items()} == {
        family: sorted(langs.split()) for family, langs in lists.items()
    }
    sizes = {family: len(langs) for family, langs in found.items()}
    if version == "xtreme":  # the cases: XTREME-R's lists used to leak into `--tasks xtreme`
        assert (sizes["udpos"], sizes["panx"], sizes["xquad"], sizes["tatoeba"]) == (33, 40, 11, 36)
    else:
        assert (sizes["udpos"], sizes["panx"], sizes["xquad"], sizes["tatoeba"]) == (38, 48, 12, 41)


def record(family: str, lang: str, metrics: dict[str, float], intermediate: str = "none") -> dict:
    name, score, shown = headline(metrics)
    return {"family": family, "language": lang, "metrics": metrics, "score": score, "score_name": name,
            "table_metrics": shown, "intermediate": intermediate, "condition": "clean", "model_label": "m",
            "method": "full", "seed": 0, "train_noise": None, "role": "target"}  # fmt: skip


def test_xtreme_averages_its_own_languages_of_a_run_that_holds_more() -> None:
    """Tatoeba over XTREME-R's 41 languages: XTREME's table averages its 36 (evaluate.py's 7.50, not 7.61)."""
    benchmarks = TaskIndex().benchmarks()
    extra = {"az", "lt", "pl", "uk", "ro"}
    records = [
        record("tatoeba", lang, {"acc": 20.0 if lang in extra else 10.0}) for lang in XTREME_R["tatoeba"].split()
    ]
    records += [record(f, lang, {"acc": 50.0}) for f in ("xnli", "pawsx", "udpos", "panx") for lang in ("en", "de")]
    [table] = [t for t in benchmark_tables(records, benchmarks) if t.title.startswith("xtreme ")]
    scores = dict(zip(table.columns, table.rows[0]))
    assert scores["tatoeba"] == 10.0  # the 36 XTREME languages only
    assert "udpos 2 of 33 languages" in table.caption and "missing: xquad" in table.caption
    [r_table] = [t for t in benchmark_tables(records, benchmarks) if t.title.startswith("xtreme-r")] or [None]
    assert r_table is None or dict(zip(r_table.columns, r_table.rows[0]))["tatoeba"] == (36 * 10 + 5 * 20) / 41


FAKE = {  # one right prediction per metric, in the shape each task type hands its metrics
    "acc": ([1], [1]),
    "squad": ([["an answer"]], ["an answer"]),
    "mlqa": ([["an answer"]], ["an answer"]),
    "seqeval": ([["B-PER", "O"]], [["B-PER", "O"]]),
    "token_acc": ([["NOUN"]], [["NOUN"]]),
    "bucc_f1": (["a\tb"], [{"pair": "a\tb", "score": 2.0, "threshold": 1.0}]),
    "map@20": ([["c1"]], [["c1", "c2"]]),
}


def test_every_familys_group_score_in_results_json_is_a_number() -> None:
    """The issue's case: mlqa, mlqa_xl, xquad, tydiqa, udpos, panx and bucc2018 came out NaN, because the
    aggregation looked up metric function names (``mlqa``, ``seqeval``) instead of what records store."""
    index = TaskIndex()
    families = [g for g in index.names("group") if g not in index.benchmarks()]
    assert {"mlqa", "mlqa_xl", "xquad", "tydiqa", "udpos", "panx", "bucc2018"} <= set(families)
    for family in families:
        tasks = [index.task(t) for t in index.expand(family)]
        records = []
        for cfg, intermediate in ((tasks[0], "none"), (tasks[-1], "none"), (tasks[0], "mnli")):
            metrics: dict[str, float] = {}
            for entry in cfg.metric_list:
                references, predictions = FAKE[entry["metric"]]
                metrics.update(compute([entry], references, predictions, language=cfg.language))
            if intermediate == "mnli":
                metrics = {name: value / 2 for name, value in metrics.items()}
            records.append(record(family, cfg.language, metrics, intermediate))
        by_intermediate = {entry["intermediate"]: entry for entry in group_scores(records)}
        assert set(by_intermediate) == {"none", "mnli"}, family  # never averaged across settings
        assert by_intermediate["none"]["score"] == 100.0, family
        assert by_intermediate["mnli"]["score"] == 50.0, family
        assert all(not math.isnan(v) for v in by_intermediate["none"]["metrics"].values()), family


def test_a_group_or_benchmark_without_a_number_says_why() -> None:
    [entry] = group_scores([record("xnli", "de", {"acc": float("nan")})], ["de", "en"])
    assert math.isnan(entry["score"]) and "de" in entry["reason"] and entry["missing_languages"] == ["en"]
    members = TaskIndex().benchmarks()["xtreme"]
    [bench] = benchmark_scores([record("xnli", "de", {"acc": 70.0})], members)
    assert bench["score"] is None and "missing: pawsx" in bench["reason"] and bench["tasks"] == {"xnli": 70.0}


# -- readers of the real file formats ---------------------------------------------------------------------------


def test_lareqa_trains_on_the_xquad_r_questions_when_no_squad_file_is_there(tmp_path, tiny_model_dir) -> None:
    """The smoke fallback (and --train-split validation) on the real XQuAD-R layout, with no squad/ folder:
    it used to fail with "Training a retrieval task needs examples with both text (query) and text_pair"."""
    import io
    import shutil
    from pathlib import Path

    from rich.console import Console

    from harness.pipeline import RunConfig, Runner

    data = tmp_path / "data"
    shutil.copytree(Path(__file__).parent / "fixtures" / "data" / "lareqa", data / "lareqa")
    config = RunConfig(tasks=["lareqa"], languages=["de", "en"], model=str(tiny_model_dir), data_dir=data,
                       train_split="validation", epochs=1, output=tmp_path / "runs",
                       adapter_dir=tmp_path / "adapters")  # fmt: skip
    result = Runner(config, Console(file=io.StringIO())).run()
    assert {r["language"] for r in result["results"]} == {"de", "en"}
    assert all(r["artefact"]["train_stats"]["steps"] > 0 for r in result["results"])
    assert all(0 <= r["metrics"]["map@20"] <= 100 for r in result["results"])


def test_labelled_pawsx_test_files_with_a_header_row_are_read(tmp_path) -> None:
    from harness.readers import READERS

    headed, bare = tmp_path / "test-de.tsv", tmp_path / "dev-de.tsv"
    headed.write_text('id\tsentence1\tsentence2\tlabel\n10\tEin "Satz".\tEin Satz.\t1\n12\tA\tB\t0\n')
    bare.write_text("Ein Satz.\tEin Satz!\t1\n")
    docs = READERS["tsv"]([str(headed)], columns=["sentence1", "sentence2", "label"], header="auto")
    assert docs.column_names == ["sentence1", "sentence2", "label"]
    assert list(docs) == [{"sentence1": 'Ein "Satz".', "sentence2": "Ein Satz.", "label": "1"},
                          {"sentence1": "A", "sentence2": "B", "label": "0"}]  # fmt: skip
    docs = READERS["tsv"]([str(bare)], columns=["sentence1", "sentence2", "label"], header="auto")
    assert list(docs) == [{"sentence1": "Ein Satz.", "sentence2": "Ein Satz!", "label": "1"}]


def test_pawsx_reads_the_real_labelled_test_file(shared_data) -> None:
    from harness.task import Task

    task = Task(TaskIndex().task("pawsx_de"), family="pawsx")
    examples = task.examples("test", shared_data)
    assert len(examples) == 2000 and {e["target"] for e in examples} == {0, 1}
    assert examples[0]["text"].startswith("Die Ausnahme war zwischen Ende 2005 und 2009")
    assert len(task.examples("validation", shared_data)) == 2000  # XTREME's headerless dev file still reads


# -- seqeval: the installed release or 0.0.12's rule, recorded ---------------------------------------------------


def test_seqeval_0012_scores_pos_tags_as_that_release_did() -> None:
    """The issue's case: gold CCONJ, predicted SCONJ is 100 under seqeval 1.x and 0 under 0.0.12. The pinned
    numbers below came from seqeval 0.0.12's own code (and agree with it on 3000 random tag sequences)."""
    from harness.metrics.tagging import seqeval_f1

    assert seqeval_f1([["CCONJ"]], [["SCONJ"]])["f1"] == 100.0
    assert seqeval_f1([["CCONJ"]], [["SCONJ"]], version="0.0.12")["f1"] == 0.0
    gold = [["PRON", "VERB", "CCONJ", "NOUN", "NOUN", "PUNCT"], ["DET", "ADJ", "NOUN", "SCONJ", "INTJ"]]
    pred = [["PRON", "VERB", "SCONJ", "NOUN", "PROPN", "PUNCT"], ["DET", "ADJ", "NOUN", "CCONJ", "INTJ"]]
    assert seqeval_f1(gold, pred)["f1"] == pytest.approx(85.71428571428572, abs=1e-12)
    assert seqeval_f1(gold, pred, version="0.0.12")["f1"] == pytest.approx(66.66666666666666, abs=1e-12)
    ner = [["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "B-ORG"]]
    assert seqeval_f1(*ner) == seqeval_f1(*ner, version="0.0.12")  # B-/I- tags: the same under both


def test_the_seqeval_option_reaches_the_metric_and_the_record() -> None:
    from importlib.metadata import version

    from harness.config import RunConfig
    from harness.metrics import scorers
    from harness.planning import make_task

    index = TaskIndex()
    default = make_task(index, "udpos_de", RunConfig(tasks=["udpos_de"]))
    old = make_task(index, "udpos_de", RunConfig(tasks=["udpos_de"], seqeval="0.0.12"))
    assert scorers(default.metric_list) == {"seqeval": f"seqeval {version('seqeval')}"}
    assert scorers(old.metric_list)["seqeval"].startswith("seqeval 0.0.12 rule")
    assert default.fingerprint() != old.fingerprint()  # a separate record, never mixed with the other
    assert make_task(index, "xnli_de", RunConfig(tasks=["xnli_de"], seqeval="0.0.12")).cfg.metric_list == (
        index.task("xnli_de").metric_list
    )


# -- ties and reductions as the official code has them ---------------------------------------------------------

ONE_HOT = [[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0.5, 0.5, 0.5, 0.5]]  # exact cosines: real ties


def test_bucc_mining_takes_tied_proposals_as_the_official_script() -> None:
    """Expected pairs from XTREME's ``mine_bitext`` with faiss 1.15 (the old order mined [(0, 0), (1, 2)];
    on 400 such tie-heavy cases it differed 393 times, now 0)."""
    import torch

    from harness import search

    x = torch.tensor([ONE_HOT[i] for i in (3, 0, 0, 0, 0, 3)])
    y = torch.tensor([ONE_HOT[i] for i in (3, 2, 0, 0, 1, 1)])
    assert [(i, j) for _, i, j in search.mine(x, y)] == [(0, 0), (1, 3), (4, 2), (5, 1)]


def test_faiss_top_k_order_and_cut_of_equal_scores() -> None:
    """faiss IndexFlatIP.search on a pool tied at rows 2, 5 and 6 (outputs read from faiss 1.15): the first
    tied rows are kept, in descending order; a better row arriving after the tie evicts the lowest id."""
    import torch

    from harness import search

    scores = torch.tensor([[0.1, 0.2, 0.9, 0.3, 0.0, 0.9, 0.9, 0.2, 0.1]])
    for k, expected in ((1, [2]), (2, [5, 2]), (3, [6, 5, 2]), (5, [6, 5, 2, 3, 1])):
        found = search.knn(torch.eye(9)[:1] * 0 + scores, torch.eye(9), k, faiss_ties=True)[1]
        assert found[0].tolist() == expected, k
    late_better = torch.tensor([[0.5, 0.5, 0.5, 0.9]])
    assert search.knn(late_better, torch.eye(4), 2, faiss_ties=True)[1][0].tolist() == [3, 1]
    assert search.nearest(scores, torch.eye(9)) == [2]  # Tatoeba (IndexFlatL2, one neighbour): the first


def test_ranking_ties_follow_each_tasks_official_order(tmp_path) -> None:
    """Tied embeddings over a real LAReQA pool: LAReQA's argsort()[::-1] puts the later candidates first,
    Mewsli-X's faiss search keeps the first ones, latest first."""
    from dataclasses import replace
    from pathlib import Path
    from types import SimpleNamespace

    import torch

    from harness.task import Task
    from harness.tasktypes.retrieval import candidate_pool, ranked_predictions

    data = Path(__file__).parent / "fixtures" / "data"
    cfg = TaskIndex().task("lareqa_de")
    pool_size = len(candidate_pool(cfg, "validation", data))
    vector = torch.ones(4)

    def predict(ties: str) -> list:
        task_cfg = replace(cfg, retrieval=replace(cfg.retrieval, top_k=3, ties=ties))
        context = SimpleNamespace(task=Task(task_cfg, family="lareqa"), split="validation", data_dir=data, model_key=None,
                                  device="cpu", outputs=lambda docs, _: [(list(range(len(docs))),
                                                                          [(vector, None)] * len(docs))])  # fmt: skip
        return ranked_predictions([(vector, None)], [{"id": "q"}], context)[0]

    ids = [c["id"] for c in candidate_pool(cfg, "validation", data)]
    assert predict("numpy") == ids[pool_size - 1 : pool_size - 4 : -1]
    assert predict("faiss") == [ids[2], ids[1], ids[0]]
    assert cfg.retrieval.ties == "numpy" and TaskIndex().task("mewslix_de").retrieval.ties == "faiss"


def test_lareqa_averages_aps_with_numpy_mewslix_with_a_running_sum() -> None:
    import numpy

    from harness.metrics.retrieval import average_precision_at_k, map_at_20

    ranks = [0, 1, 6, 0, 7, 5, 3, 5, 1, 3, 3, 3, 2, 7, 1, 1, 5]  # the rank of the one relevant item (0: none)
    references = [["a"]] * len(ranks)
    predictions = [["x"] * (rank - 1) + ["a"] if rank else ["x"] for rank in ranks]
    aps = [average_precision_at_k(g, p, 20) for g, p in zip(references, predictions)]
    assert sum(aps) / len(aps) != float(numpy.mean(aps))  # the two reductions differ in the last digit here
    assert map_at_20(references, predictions) == sum(aps) / len(aps) * 100
    assert map_at_20(references, predictions, reduction="numpy") == float(numpy.mean(aps)) * 100
    assert TaskIndex().task("lareqa_de").metric_list == [{"metric": "map@20", "kwargs": {"reduction": "numpy"}}]


# -- retrieval pools under --limit ------------------------------------------------------------------------------


def test_limit_samples_tatoeba_queries_and_keeps_the_whole_pool(tmp_path, tiny_model_dir, shared_data) -> None:
    import io

    from rich.console import Console

    from harness.pipeline import RunConfig, Runner
    from harness.report import all_tables

    def run(**options):
        config = RunConfig(tasks=["tatoeba"], languages=["de"], model=str(tiny_model_dir), data_dir=shared_data,
                           limit=20, output=tmp_path / "runs", adapter_dir=tmp_path / "adapters", **options)  # fmt: skip
        return Runner(config, Console(file=io.StringIO())).run()["results"][0]

    full, small = run(), run(limit_pool=True)
    assert full["n"] == small["n"] == 20 and full["doc_ids"] == small["doc_ids"]  # the same 20 queries
    assert full["pool"] == {"size": 1000, "queries": 20, "limited": False}
    assert small["pool"] == {"size": 20, "queries": 20, "limited": True}
    [table] = [t for t in all_tables([small], {}, "t") if t.title == "t"]
    assert "tatoeba: searched a pool of only the 20 sampled sentences (--limit-pool)" in table.caption
    assert "--limit-pool" not in all_tables([full], {}, "t")[0].caption


def test_limit_keeps_bucc_mining_over_the_whole_split(tmp_path, tiny_model_dir) -> None:
    import io
    from pathlib import Path

    from rich.console import Console

    from harness.pipeline import RunConfig, Runner

    config = RunConfig(tasks=["bucc2018"], languages=["de"], model=str(tiny_model_dir), limit=3,
                       data_dir=Path(__file__).parent / "fixtures" / "data", output=tmp_path / "runs",
                       adapter_dir=tmp_path / "adapters")  # fmt: skip
    [record] = Runner(config, Console(file=io.StringIO())).run()["results"]
    assert record["n"] == 3 and record["pool"]["size"] == 10 and not record["pool"]["limited"]


def test_a_benchmark_skips_families_without_local_files_and_says_so(tmp_path) -> None:
    from harness.config import RunConfig
    from harness.errors import DataError
    from harness.planning import resolve_tasks, skip_missing_languages

    (tmp_path / "xnli").mkdir()
    (tmp_path / "xnli" / "dev-de.tsv").write_text("a\tb\tneutral\n")
    index = TaskIndex()
    config = RunConfig(tasks=["xtreme"], data_dir=tmp_path)
    kept, skipped = skip_missing_languages(resolve_tasks(["xtreme"], config, index), config)
    assert {t.name for t in kept} == {"xnli_de"}
    assert sorted(skipped["mlqa"]) == sorted(XTREME["mlqa"].split()) and len(skipped["udpos"]) == 33
    named = RunConfig(tasks=["mlqa"], data_dir=tmp_path)  # asked for by name: kept, so loading names the file
    kept, skipped = skip_missing_languages(resolve_tasks(["mlqa"], named, index), named)
    assert len(kept) == 7 and not skipped
    with pytest.raises(DataError, match="mlqa"):
        kept[0].examples("validation", tmp_path)
