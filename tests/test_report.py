"""Tables from records: leaderboard deltas, benchmark scores as XTREME's evaluate.py computes them, formats."""

from __future__ import annotations

import pytest

from harness.noise import parse
from harness.registry import TaskIndex
from harness.report import all_tables, benchmark_tables, leaderboard, robustness_summary


def record(family: str, lang: str, score: float, intermediate: str = "none", condition: str = "clean", **metrics):
    metrics = metrics or {"acc": score}
    name = "em_f1_mean" if "f1" in metrics and "exact_match" in metrics else next(iter(metrics))
    return {"family": family, "language": lang, "score": score, "score_name": name, "metrics": metrics,
            "intermediate": intermediate, "condition": condition, "model_label": "m", "method": "full", "seed": 0,
            "role": "target", "noise": noise_of(condition)}  # fmt: skip


def noise_of(condition: str) -> dict | None:
    """What a record says about its noise condition (the steps, as ``NoisyTask.noise_record`` writes them)."""
    if condition == "clean" or condition.startswith("attack"):
        return None
    spec = parse(condition)
    steps = [{"name": s.name, "rate": s.rate, **dict(s.args)} for s in spec.steps]
    return {"spec": str(spec), "steps": steps, "cer": 100 * sum(s.rate for s in spec.steps), "wer": 0.0}


def test_xtreme_r_score_is_the_mean_of_task_scores_with_qa_as_em_f1_mean() -> None:
    members = TaskIndex().benchmarks()["xtreme-r"]
    assert list(members) == [
        "xnli",
        "xcopa",
        "udpos",
        "panx",
        "xquad",
        "mlqa",
        "tydiqa",
        "tatoeba",
        "mewslix",
        "lareqa",
    ]
    records = []
    for i, family in enumerate(members):
        for lang, delta in (("en", 0.0), ("de", 10.0)):
            if family in ("xquad", "mlqa", "tydiqa"):
                em, f1 = 40.0 + delta, 60.0 + delta
                records.append(record(family, lang, (em + f1) / 2, exact_match=em, f1=f1))
            else:
                records.append(record(family, lang, 50.0 + i + delta))
    [table] = benchmark_tables(records, {"xtreme-r": list(members)})
    row = table.rows[0]
    scores = dict(zip(table.columns, row))
    assert scores["xquad"] == (45.0 + 65.0) / 2  # (mean EM + mean F1) / 2
    assert scores["xnli"] == 55.0 and scores["lareqa"] == 64.0
    assert scores["xtreme-r"] == pytest.approx(sum(scores[m] for m in members) / 10)
    [partial] = benchmark_tables(records[2:], {"xtreme-r": list(members)})
    assert partial.rows[0][0] is None and "missing: xnli" in partial.caption
    assert benchmark_tables(records[: 2 * 4], {"xtreme-r": list(members)}) == []  # 4 of 10 tasks: no benchmark table


def test_leaderboard_differences_and_robustness_summary() -> None:
    records = [record("xnli", lang, s, i, c) for lang, i, c, s in [
        ("de", "none", "clean", 70.0), ("de", "none", "typo", 60.0),
        ("de", "mnli", "clean", 74.0), ("de", "mnli", "typo", 68.0)]]  # fmt: skip
    table = leaderboard(records)
    rows = {(row[2], row[3]): row[table.columns.index("de")].value for row in table.rows}
    assert rows[("none", "drop typo")] == 10.0 and rows[("mnli", "drop typo")] == 6.0
    assert rows[("Δ mnli", "clean")] == 4.0 and rows[("Δ mnli", "drop typo")] == -4.0  # more robust by 4 points
    summary = robustness_summary(records)
    mnli = dict(zip(summary.columns, next(row for row in summary.rows if row[1] == "mnli")))
    mnli = {k: getattr(v, "value", v) for k, v in mnli.items()}
    assert mnli == {"task": "xnli", "intermediate": "mnli", "clean": 74.0, "typo": 68.0, "drop typo": 6.0,
                    "rel. drop typo %": pytest.approx(6 / 74 * 100), "worst case": None, "Δ clean": 4.0,
                    "Δ typo": 8.0, "Δ drop typo": -4.0}  # fmt: skip


def test_formats_and_intermediate_dev_records_are_left_out() -> None:
    records = [record("xnli", "de", 70.0), {**record("mnli", "en", 80.0), "role": "intermediate"}]
    [table] = all_tables(records, {}, "title")
    assert [row[0] for row in table.rows] == ["xnli"]
    assert "| xnli | acc | 70.0 | 70.0 |" in table.to_markdown()
    assert table.to_csv().splitlines()[1] == "xnli,acc,70.0,70.0"
    assert r"xnli & acc & 70.0 & 70.0 \\" in table.to_latex()
    assert "<td>xnli</td>" in table.to_html()


def test_robustness_curves_start_clean_and_follow_the_sweep(tmp_path) -> None:
    from harness.errors import HarnessError
    from harness.plots import plot_robustness, robustness_curves

    records = [record("xnli", lang, s + (4.0 if i == "mnli" else 0.0) - (2.0 if lang == "hi" else 0.0), i, c)
               for i in ("none", "mnli") for lang in ("de", "hi")
               for c, s in (("typo:0.2", 50.0), ("clean", 70.0), ("typo:0.1", 60.0), ("typo:0.1+drop:0.05", 55.0))]  # fmt: skip
    curves = robustness_curves(records)
    assert curves["xnli"]["none · typo"] == [(0.0, 69.0), (0.1, 59.0), (0.2, 49.0)]  # mean over de, hi
    assert curves["xnli"]["mnli · typo"] == [(0.0, 73.0), (0.1, 63.0), (0.2, 53.0)]
    assert curves["xnli"]["none · typo+drop"] == [(0.0, 69.0), (pytest.approx(0.15), 54.0)]
    path = plot_robustness(records, tmp_path / "curves.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]  # no temporary file left behind
    with pytest.raises(HarnessError, match="--noise typo"):
        plot_robustness([r for r in records if r["condition"] == "clean"], tmp_path / "none.png")
