"""`harness tasks ls`: benchmark groups listed as groups with their member tasks, apart from the tasks."""

from __future__ import annotations

from click.testing import CliRunner

from harness import cli as cli_module
from harness.cli import cli


def _sections(output: str) -> dict[str, str]:
    """The listing's tables by the first word of their titles."""
    out: dict[str, str] = {}
    title = ""
    for line in output.splitlines():
        if line and line[0].isalpha():
            title = line.split()[0]
        out[title] = out.get(title, "") + line + "\n"
    return out


def _names(table: str) -> list[str]:
    return [
        row.split("│")[1].strip() for row in table.splitlines() if row.startswith("│") and row.split("│")[1].strip()
    ]


def test_benchmark_groups_are_listed_as_groups_with_their_tasks(monkeypatch):
    # the CLI's console takes its width when harness.cli is imported, whatever COLUMNS says later: wide enough
    # that no member list wraps
    monkeypatch.setattr(cli_module.console, "width", 250)
    result = CliRunner().invoke(cli, ["tasks", "ls"])
    assert result.exit_code == 0, result.output
    sections = _sections(result.output)
    assert list(sections) == ["Benchmark", "Tasks", "Tags"]
    benchmarks = sections["Benchmark"]
    assert _names(benchmarks) == ["xtreme", "xtreme-r"]
    # members with the languages the benchmark scores (XTREME scores fewer UD-POS languages than XTREME-R)
    assert "xnli (15) pawsx (7) udpos (33)" in benchmarks and "udpos (38)" in benchmarks and "lareqa (11)" in benchmarks
    tasks = _names(sections["Tasks"])
    assert "xtreme" not in tasks and "xtreme-r" not in tasks
    assert {"xnli", "panx", "mnli", "squad"} <= set(tasks) and "xnli_de" not in tasks
    intermediate = next(row for row in sections["Tags"].splitlines() if row.startswith("│ intermediate "))
    assert "mnli" in intermediate and "squad" in intermediate


def test_all_lists_every_per_language_task_but_keeps_benchmarks_apart():
    result = CliRunner().invoke(cli, ["tasks", "ls", "--all"], env={"COLUMNS": "250"})
    sections = _sections(result.output)
    assert "xnli_de" in _names(sections["Tasks"]) and "xtreme-r" not in _names(sections["Tasks"])
