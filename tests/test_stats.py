"""Statistics from per-example outcomes, checked against scipy on the same arrays and against hand values:
outcomes recompute every official scorer, bootstrap intervals, paired tests, Holm, worst case, relative drop;
honest reports (filters, incompatible records, missing outcomes) and the HTML page in headless Chromium."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats as scipy_stats
from test_report import noise_of

from harness.analysis import Analysis
from harness.cli import cli
from harness.errors import HarnessError
from harness.metrics import METRICS, compute, example_outcomes, metrics_from_sums
from harness.report import leaderboard, report_sections, robustness_summary
from harness.results import CellStore
from harness.stats import Stratum, adjust, holm, interval, randomisation_test

# -- outcomes recompute the official scorers ---------------------------------------------------------------------

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "NOUN", "VERB", "INTJ"]


def _case(metric: str, rng: random.Random, n: int) -> tuple[list[Any], list[Any], str | None]:
    """Random references and predictions for ``metric``, with the overlaps that make its arithmetic non-trivial."""
    words = ["the", "a", "Haus", "der", "猫", "犬", "ال", "كتاب", "x", "y", "z", "."]
    if metric == "acc":
        refs = [rng.randrange(3) for _ in range(n)]
        return refs, [r if rng.random() < 0.6 else rng.randrange(3) for r in refs], None
    if metric in ("squad", "mlqa", "squad_v2"):
        refs = [[" ".join(rng.choices(words, k=rng.randint(1, 3))) for _ in range(rng.randint(1, 2))] for _ in range(n)]
        if metric == "squad_v2":
            refs = [r if rng.random() < 0.7 else [] for r in refs]
        preds = [rng.choice(r) if r and rng.random() < 0.4 else " ".join(rng.choices(words, k=2)) for r in refs]
        return refs, preds, rng.choice(["zh", "ar", "de"]) if metric == "mlqa" else None
    if metric in ("seqeval", "token_acc"):
        refs = [[rng.choice(TAGS) for _ in range(rng.randint(1, 6))] for _ in range(n)]
        return refs, [[t if rng.random() < 0.7 else rng.choice(TAGS) for t in r] for r in refs], None
    if metric == "bucc_f1":
        refs = [f"s{i}\tt{i}" if rng.random() < 0.7 else None for i in range(n)]
        preds = [None if rng.random() < 0.2 else {"pair": f"s{i}\tt{i if rng.random() < 0.6 else i + 1}",
                 "score": rng.random(), "threshold": 0.3} for i in range(n)]  # fmt: skip
        return refs, preds, None
    assert metric == "map@20"
    refs = [rng.sample(range(30), rng.randint(1, 3)) for _ in range(n)]
    return refs, [rng.sample(range(30), 25) for _ in range(n)], None


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_outcomes_recompute_the_official_scorer_on_any_resample(metric: str) -> None:
    """Summed per-example statistics give the scorer's number on subsets and on resamples with repeats (BUCC:
    subsets only: its scorer keeps a *set* of pairs, so a repeated sentence would count once)."""
    rng = random.Random(metric)
    metric_list = [{"metric": metric}]
    for trial in range(12):
        refs, preds, lang = _case(metric, rng, 40)
        columns = example_outcomes(metric_list, refs, preds, lang)
        assert columns is not None
        names = sorted(columns)
        table = np.array([columns[c] for c in names], dtype=float).T
        repeats = trial % 2 == 1 and metric != "bucc_f1"
        pick = [rng.randrange(40) for _ in range(40)] if repeats else rng.sample(range(40), rng.randint(1, 40))
        official = compute(metric_list, [refs[i] for i in pick], [preds[i] for i in pick], language=lang)
        sums = table[pick].sum(axis=0)
        recomputed = metrics_from_sums(metric_list, {c: sums[i] for i, c in enumerate(names)}, np.array(len(pick)))
        for name, value in recomputed.items():
            assert float(value) == pytest.approx(official[name], abs=1e-9), (name, pick)


def test_seqeval_span_f1_is_not_a_mean_of_sentence_scores() -> None:
    """Why outcomes are counts: averaging per-sentence F1 would not give seqeval's corpus F1."""
    refs = [["B-PER", "I-PER", "O"], ["B-LOC"], ["O", "O"], ["B-PER", "O", "B-LOC"]]
    preds = [["B-PER", "O", "O"], ["B-LOC"], ["B-PER", "O"], ["B-PER", "O", "O"]]
    official = compute([{"metric": "seqeval"}], refs, preds)["f1"]
    columns = example_outcomes([{"metric": "seqeval"}], refs, preds, None)
    assert columns is not None
    per_sentence = [2 * c / (p + g) if p + g else 1.0 for c, p, g in
                    zip(columns["seqeval:correct"], columns["seqeval:predicted"], columns["seqeval:gold"])]  # fmt: skip
    assert abs(np.mean(per_sentence) * 100 - official) > 1
    assert official == pytest.approx(2 * 2 / (4 + 4) * 100)  # 2 correct spans, 4 predicted, 4 gold


# -- intervals, tests, corrections against scipy and by hand ----------------------------------------------------


def _acc(sums: np.ndarray, n: np.ndarray) -> np.ndarray:
    return sums[..., 0] / n * 100


def test_bootstrap_interval_is_scipys_percentile_bootstrap_on_the_same_arrays() -> None:
    rng = np.random.default_rng(3)
    correct = (rng.random(150) < 0.7).astype(float)
    ours = interval([Stratum([correct[None, :, None]], _acc)], lambda v: v[..., 0], seed=11, resamples=500)
    theirs = scipy_stats.bootstrap((correct * 100,), np.mean, n_resamples=500, method="percentile",
                                   random_state=np.random.default_rng(11), batch=2_000_000 // 150)  # fmt: skip
    assert ours == pytest.approx(tuple(theirs.confidence_interval), abs=1e-9)


def test_mean_over_languages_resamples_within_languages() -> None:
    """Two languages of very different accuracy: resampling within each keeps the mean's interval narrow, and
    equal to scipy's multi-sample bootstrap of the mean of the two means."""
    a, b = np.r_[np.ones(95), np.zeros(5)], np.r_[np.ones(30), np.zeros(70)]
    strata = [Stratum([x[None, :, None]], _acc) for x in (a, b)]
    ours = interval(strata, lambda v: v[..., 0], seed=5, resamples=400)
    theirs = scipy_stats.bootstrap(
        (a * 100, b * 100), lambda x, y, axis: (x.mean(axis) + y.mean(axis)) / 2, n_resamples=400,
        method="percentile", random_state=np.random.default_rng(5), batch=2_000_000 // 200)  # fmt: skip
    assert ours == pytest.approx(tuple(theirs.confidence_interval), abs=1e-9)
    assert ours[0] < 62.5 < ours[1] and ours[1] - ours[0] < 11  # pooling 200 examples: about 13.4


def test_approximate_randomisation_gives_scipys_paired_permutation_p_value() -> None:
    """Exact (every swap of 10 pairs) equal to scipy's exact test; randomised within Monte Carlo error."""
    rng = np.random.default_rng(7)
    diff = lambda v: v[..., 0] - v[..., 1]  # noqa: E731
    scipy_diff = lambda x, y, axis: x.mean(axis) - y.mean(axis)  # noqa: E731
    for n, resamples in ((10, 5000), (60, 20000)):
        a = (rng.random(n) < 0.8).astype(float)
        b = (rng.random(n) < 0.45).astype(float)
        ours = randomisation_test([Stratum([a[None, :, None], b[None, :, None]], _acc)], 1, diff, 2, resamples)
        theirs = scipy_stats.permutation_test((a * 100, b * 100), scipy_diff, permutation_type="samples",
                                              vectorized=True, n_resamples=resamples, random_state=1)  # fmt: skip
        assert ours == pytest.approx(theirs.pvalue, abs=1e-12 if n == 10 else 0.01)
    same = randomisation_test([Stratum([a[None, :, None]] * 2, _acc)], 1, diff, 2, 99)
    assert same == 1.0


def test_holm_and_benjamini_hochberg_by_hand() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → kept monotone: 0.06
    assert list(holm(p)) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # BH: 0.005·4/1 = 0.02, 0.01·4/2 = 0.02, 0.03·4/3 = 0.04, 0.04·4/4 = 0.04
    assert list(adjust(p, "bh")) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert np.isnan(adjust([np.nan, 0.01], "holm")[0]) and adjust([np.nan, 0.01], "holm")[1] == 0.01


# -- a fixture store ------------------------------------------------------------------------------------------

CORRECT = {  # (intermediate, condition) → per-example correctness of 8 examples, the same in de and fr
    ("none", "clean"): [1, 1, 1, 1, 1, 1, 0, 0],
    ("none", "typo:0.1"): [1, 0, 1, 0, 1, 1, 0, 0],
    ("none", "typo:0.2"): [1, 0, 0, 0, 1, 1, 0, 1],
    ("mnli", "clean"): [1, 1, 1, 1, 1, 1, 1, 0],
    ("mnli", "typo:0.1"): [1, 1, 1, 1, 1, 1, 0, 0],
    ("mnli", "typo:0.2"): [1, 1, 1, 0, 1, 1, 0, 0],
}


def make_store(root: Path, seeds: tuple[int, ...] = (0,), repeat: int = 1, **setting: Any) -> CellStore:
    """Records and outcomes of CORRECT (each example ``repeat`` times) in de and fr, per seed."""
    store = CellStore(root)
    for (intermediate, condition), correct in CORRECT.items():
        correct = correct * repeat
        for lang in ("de", "fr"):
            for seed in seeds:
                flip = seed % 2 and lang == "fr"  # seed 1 gets the last example right in fr
                values = [*correct[:-1], 1 - correct[-1]] if flip else correct
                key = f"{intermediate}-{condition}-{lang}-{seed}".replace(":", "_")
                acc = sum(values) / len(values) * 100
                store.put(key, {
                    "key": key, "task": f"xnli_{lang}", "family": "xnli", "language": lang, "condition": condition,
                    "intermediate": intermediate, "seed": seed, "sample_seed": 0, "noise_seed": 0, "role": "target",
                    "model_label": "m", "method": "full", "split": "validation", "score": acc, "score_name": "acc",
                    "metrics": {"acc": acc}, "table_metrics": ["acc"], "higher_is_better": {"acc": True},
                    "spec": {"metric_list": [{"metric": "acc"}]}, "outcomes": ["acc:acc"],
                    "settings": {"limit": 8, **setting}, "created": f"{seed}", "noise": noise_of(condition),
                })  # fmt: skip
                store.put_outcomes(key, [f"d{i}" for i in range(len(values))], {"acc:acc": values})
    return store


def _row(table, **labels: str) -> dict[str, Any]:
    for row in table.rows:
        named = dict(zip(table.columns, row))
        if all(named[k] == v for k, v in labels.items()):
            return named
    raise AssertionError(f"no row {labels}")


def test_robustness_table_worst_case_relative_drop_and_difference_in_drop(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    analysis = Analysis(store, seed=0, resamples=300)
    table = robustness_summary(store.scan().records, analysis)
    none, mnli = _row(table, intermediate="none"), _row(table, intermediate="mnli")
    assert none["clean"].value == 75.0 and none["typo:0.1"].value == 50.0
    assert none["drop typo:0.1"].value == 25.0
    assert none["rel. drop typo:0.1 %"].value == pytest.approx(25 / 75 * 100)
    # worst case: correct clean and under both noise conditions: examples 0, 4, 5 → 3 of 8
    assert none["worst case"].value == pytest.approx(37.5)
    assert mnli["worst case"].value == pytest.approx(5 / 8 * 100)  # 0, 1, 2, 4, 5
    assert mnli["Δ drop typo:0.1"].value == pytest.approx((87.5 - 75.0) - 25.0)
    assert mnli["Δ clean"].value == pytest.approx(12.5)
    for e in (none["clean"], mnli["Δ drop typo:0.1"], none["worst case"]):
        assert e.low <= e.value <= e.high
    assert 0 < mnli["Δ drop typo:0.1"].p <= 1 and mnli["Δ drop typo:0.1"].p_adjusted >= mnli["Δ drop typo:0.1"].p
    assert "Holm–Bonferroni correction over the 9 comparisons" in table.caption


def test_seeds_pool_to_mean_and_std_with_one_interval(tmp_path: Path) -> None:
    store = make_store(tmp_path, seeds=(0, 1))
    table = leaderboard(store.scan().records, analysis=Analysis(store, resamples=200))
    clean = _row(table, intermediate="none", condition="clean")
    # fr: seed 0 75.0, seed 1 87.5 (its last example flips to correct); de 75.0 both → avg per seed 75.0, 81.25
    assert clean["fr"].value == pytest.approx(81.25) and clean["fr"].seeds == 2
    assert clean["avg"].value == pytest.approx(78.125)
    assert clean["avg"].std == pytest.approx(np.std([75.0, 81.25], ddof=1))
    assert "seed" not in table.columns and clean["avg"].low < clean["avg"].high
    by_seed = leaderboard(store.scan().records, analysis=Analysis(store, resamples=0), by_seed=True)
    assert "seed" in by_seed.columns


def test_honest_reports_filters_incompatible_runs_and_missing_outcomes(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    records = store.scan().records
    with pytest.raises(HarnessError, match="--lang xx: no record has it. The store has: de, fr"):
        report_sections(records, {"languages": ["xx"]}, [])
    with pytest.raises(HarnessError, match="--by colour"):
        report_sections(records, {}, ["colour"])
    [(_, kept, _)] = report_sections(records, {"conditions": ["typo:0.2"], "intermediates": ["mnli"]}, [])
    assert {r["condition"] for r in kept} == {"clean", "typo:0.2"} and {r["intermediate"] for r in kept} == {
        "none", "mnli"}  # fmt: skip
    other = make_store(tmp_path / "other", limit=100)  # the same cells from a run with another --limit
    mixed = [*records, *({**r, "key": "o" + r["key"]} for r in other.scan().records)]
    table = leaderboard(mixed)
    assert "limit" in table.columns and "differ in limit: 100, 8" in table.caption
    (tmp_path / "outcomes" / "none-clean-de-0.json").unlink()
    analysis = Analysis(store, resamples=50)
    leaderboard(store.scan().records, analysis=analysis)
    assert "1 record(s) have no per-example outcomes" in analysis.notes_table().rows[0][0]


def test_cli_formats_and_an_empty_store(tmp_path: Path) -> None:
    make_store(tmp_path / "runs", repeat=10)
    runner = CliRunner()
    runs = str(tmp_path / "runs")
    # few comparisons and many permutations, so that a 25-point drop on 80 examples is marked after Holm
    latex = runner.invoke(cli, ["report", runs, "--format", "latex", "--lang", "de", "--noise", "typo:0.1",
                                "--resamples", "1000"])  # fmt: skip
    assert latex.exit_code == 0, latex.output
    assert r"\toprule" in latex.output and r"$^{*}$" in latex.output and r"{\scriptsize$\pm$" in latex.output
    for fmt, expected in (("csv", "avg ci95_low"), ("json", '"ci95": ['), ("markdown", "Holm–Bonferroni"),
                          ("terminal", "Robustness")):  # fmt: skip
        result = runner.invoke(cli, ["report", runs, "--format", fmt, "--resamples", "100", "--lang", "de"])
        assert result.exit_code == 0, result.output
        assert expected in result.output, fmt
    (tmp_path / "empty").mkdir()
    result = runner.invoke(cli, ["report", str(tmp_path / "empty")])
    assert result.exit_code != 0 and "No result records" in result.output


def test_html_report_sorts_filters_and_draws_its_plots_in_headless_chromium(tmp_path: Path) -> None:
    from html_screenshot import browser, dom, screenshot

    if browser() is None:
        pytest.skip("no headless Chromium (Debian: apt-get install chromium)")
    make_store(tmp_path / "runs", seeds=(0, 1))
    page = tmp_path / "report.html"
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "runs"), "--format", "html", "--resamples", "100"])
    assert result.exit_code == 0, result.output
    page.write_text(result.output, encoding="utf-8")
    assert "<script" in result.output and "http" not in result.output.split("<body")[0]  # self-contained
    avg = 4  # task, metric, intermediate, condition, avg
    tree = dom(page, f"sort=0:{avg}:desc&filter=1:mnli")  # sort the leaderboard, filter the robustness table
    assert 'data-plots="3"' in tree
    tables = [tree[i : tree.index("</tbody>", i)] for i in [m.start() for m in re.finditer("<tbody>", tree)]]
    values = [float(v) for v in re.findall(r'<td data-sort="([-0-9.e]+)"', tables[0])]
    averages = values[::3]  # avg, de, fr per row
    assert averages == sorted(averages, reverse=True) and len(averages) > 5
    shown = [row for row in tables[1].split("<tr")[1:] if "display: none" not in row]
    assert len(shown) == 1 and "<td>mnli</td>" in shown[0]
    assert screenshot(page, tmp_path / "report.png").stat().st_size > 20_000


def test_reference_numbers_only_where_the_setting_matches() -> None:
    from harness.references import REFERENCES

    xnli = next(r for r in REFERENCES if r.family == "xnli")
    records = [{"family": "xnli", "language": lang, "score": 80.0, "score_name": "acc", "metrics": {"acc": 80.0},
                "intermediate": "none", "condition": "clean", "model": "xlm-roberta-large", "model_label": "XLM-R",
                "method": "full", "split": "test", "seed": 0, "role": "target"} for lang in sorted(xnli.languages)]  # fmt: skip
    table = leaderboard(records)
    assert table.columns[:5] == ["task", "metric", "avg", "ref.", "en"] and table.rows[0][3] == 79.2
    assert "multilingual-t5 README.md" in table.caption
    for changed in ({"split": "validation"}, {"model": "xlm-roberta-base"}, {"method": "lora"}):
        assert "ref." not in leaderboard([{**r, **changed} for r in records]).columns
    assert "ref." not in leaderboard(records[1:]).columns  # an average over other languages is another number
