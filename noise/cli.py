"""``harness noise ls`` and ``harness noise preview``: what the perturbations are and what they do.

Imported by the ``harness`` command line on every start, so the catalogue, the tasks and the models are
imported inside the commands that use them.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable
from rich.text import Text

from ..jsonio import dumps
from ..plugins import plugin_option

console = Console()


@click.group()
def noise() -> None:
    """List the noise perturbations and preview them on real docs."""


@noise.command("ls")
@plugin_option
@click.option("--include-path", "include_paths", multiple=True, type=click.Path(path_type=Path),
              help="A folder of your task YAMLs whose plugins.py registers perturbations (repeatable).")  # fmt: skip
def noise_ls(plugins: list[str], include_paths: tuple[Path, ...]) -> None:
    """The perturbations (with the plugins' and where they come from), their parameters, the keyboard layouts."""
    from ..plugins import load_include_path_plugins
    from .keyboards import LAYOUTS, SCRIPT_LAYOUTS
    from .readings import INPUT_METHODS
    from .spec import REGISTRY  # spec loads the catalogue

    load_include_path_plugins(include_paths)
    mine = dict(REGISTRY.plugins())
    table = RichTable(title="Perturbations (a condition: name[:rate][:key=value] joined by +)", title_justify="left")
    for column in ("name", "unit", "rate", "parameters", "on tagging", "what it does", *(["from"] if mine else [])):
        table.add_column(column, overflow="fold")
    for name in sorted(REGISTRY, key=lambda n: (REGISTRY[n].level, n)):
        cls = REGISTRY[name]
        params = "\n".join(f"{k}={_show(p.default)}: {p.help}" for k, p in cls.params.items())
        table.add_row(
            name,
            "cluster" if cls.level == "char" else "word",
            f"{cls.default_rate:g}",
            escape(params),
            "skipped" if cls.adds_words else "yes",
            escape(cls.summary()),
            *([escape(f"plugin: {mine[name]}") if name in mine else "built-in"] if mine else []),
        )
    console.print(table)
    console.print(
        "Options of a condition: [bold]fields=[/]a/b (which example fields; default: the task's noise_fields), "
        "[bold]answers=protect[/] (span QA: leave gold answers untouched; default: relocate them), "
        "[bold]protect=[/]negation/number/entity/none (words no perturbation touches; default: negation cues "
        "for classification), [bold]protect_list=[/]PATH (more such words, one per line; {lang}: the language)."
    )
    console.print(
        "Keyboard layouts: " + ", ".join(f"{code} ({layout.name})" for code, layout in sorted(LAYOUTS.items())) + "."
    )
    models = RichTable(title="What typo types, per language", title_justify="left")
    models.add_column("model")
    models.add_column("languages", overflow="fold")
    models.add_row("its own keyboard layout", ", ".join(sorted(LAYOUTS)))
    for language, how in INPUT_METHODS.items():
        models.add_row("input method", f"{language}: {how}")
    models.add_row(
        "the layout of its script",
        "any other language: " + ", ".join(f"{script} text on {code}" for script, code in SCRIPT_LAYOUTS.items()),
    )
    models.add_row(
        "a letter of the script, weighted by frequency",
        "scripts with no layout here: Han (characters in common use), Bengali, Tamil, Telugu, Malayalam, Georgian "
        "(letters of real text); other scripts: any letter of the script",
    )
    console.print(models)


def _show(value: Any) -> str:
    return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


@noise.command("preview")
@click.argument("spec")
@click.option("--task", "-t", "task_name", required=True, help="A task or group, e.g. xnli.")
@click.option("--lang", "-l", "language", help="The language (required for a group of several).")
@click.option("-n", "count", default="5", show_default=True, help="How many docs (a seeded sample), or `all`.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "jsonl"]),
    default="table",
    show_default=True,
    help="jsonl: one JSON object per doc and field (doc, field, clean, noisy, edits) on stdout, to audit with your tools.",
)
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False), help="Local data (XTREME layout).")
@click.option("--include-path", "include_paths", multiple=True, type=click.Path(path_type=Path))
@plugin_option
@click.option("--split", type=click.Choice(["validation", "test"]), default="validation", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def noise_preview(
    spec: str,
    task_name: str,
    language: str | None,
    count: str,
    output_format: str,
    data_dir: Path | None,
    include_paths: tuple[Path, ...],
    plugins: list[str],
    split: str,
    seed: int,
) -> None:
    """Clean and noisy docs side by side, edits highlighted (red: removed, green: added)."""
    from ..errors import HarnessError

    limit = None if count == "all" else int(count) if count.isdigit() and int(count) > 0 else None
    if limit is None and count != "all":
        raise click.BadParameter(f"{count!r}: give a positive number of docs or `all`.", param_hint="-n")
    from ..registry import TaskIndex
    from .spec import parse

    parse(spec)  # the spec, task and language are checked before torch and datasets are imported
    index = TaskIndex(include_paths)
    configs = [index.task(name) for name in index.expand(task_name)]
    languages = sorted({c.language for c in configs})
    chosen = [c for c in configs if language is None or c.language == language]
    if not chosen or (language is None and len(languages) > 1):
        raise HarnessError(f"Task {task_name!r}: choose a language with --lang; it has {', '.join(languages)}.")
    from ..task import DocSelection, Task
    from .measure import error_rates
    from .noisy import wrap

    task = Task(chosen[0])
    split_name = task.cfg.validation_split if split == "validation" else task.cfg.test_split
    if split_name is None:
        raise HarnessError(f"Task {task.name!r} has no {split} split.")
    noisy_task = wrap(task, spec, seed)
    clean = task.examples(split_name, data_dir, DocSelection(limit=limit, seed=seed))
    noisy = noisy_task.perturb(clean)
    rates = error_rates(clean, noisy, noisy_task.fields, task.type.name, noisy_task.watched, noisy_task.language)
    summary = f"Applied: CER {rates['cer']:.1f}%, WER {rates['wer']:.1f}%, {rates['changed']:.0f}% of texts changed"
    if "protected" in rates:
        summary += f"; {rates['protected']} protected words, {rates['protected_hit']:.0f}% hit"
    summary += "."
    if output_format == "jsonl":
        for before, after in zip(clean, noisy):
            for field, a, b in _field_texts(before, after, noisy_task.fields):
                row = {"doc": before["id"], "field": field, "clean": a, "noisy": b, "edits": cluster_edits(a, b)}
                click.echo(dumps(row, ensure_ascii=False))
        click.echo(summary, err=True)
        return
    table = RichTable(title=f"{noisy_task.name} · seed {seed}", title_justify="left", show_lines=True)
    for column in ("doc", "field", "clean", "noisy"):
        table.add_column(column, overflow="fold")
    for before, after in zip(clean, noisy):
        for field, a, b in _field_texts(before, after, noisy_task.fields):
            old, new = highlight(a, b)
            table.add_row(str(before["id"]), field, old, new)
    console.print(table)
    console.print(summary)


def _field_texts(before: dict[str, Any], after: dict[str, Any], fields: list[str]) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for field in fields:
        if field not in before:
            continue
        a, b = before[field], after[field]
        if isinstance(a, str):
            out.append((field, a, b))
        elif isinstance(a, list) and field == "tokens":
            out.append((field, " ".join(a), " ".join(b)))
        elif isinstance(a, list):
            out += [(f"{field}/{i}", x, y) for i, (x, y) in enumerate(zip(a, b))]
    return out


def _cluster_opcodes(clean: str, noisy: str) -> list[tuple[str, str, str, int]]:
    """The texts' grapheme clusters aligned: (operation, clean part, noisy part, clean cluster index) runs."""
    from .clusters import cluster_list

    a, b = cluster_list(clean), cluster_list(noisy)
    return [
        (op, "".join(a[i1:i2]), "".join(b[j1:j2]), i1)
        for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    ]


def cluster_edits(clean: str, noisy: str) -> list[dict[str, Any]]:
    """The edits that turn ``clean`` into ``noisy``: op (replace/delete/insert), at (clean cluster index), clean, noisy."""
    return [
        {"op": op, "at": at, "clean": old, "noisy": new}
        for op, old, new, at in _cluster_opcodes(clean, noisy)
        if op != "equal"
    ]


def highlight(clean: str, noisy: str) -> tuple[Text, Text]:
    """Both texts with the differing grapheme clusters marked (red: removed, green: added)."""
    old, new = Text(), Text()
    for op, a, b, _ in _cluster_opcodes(clean, noisy):
        old.append(a, style=None if op == "equal" else "bold red")
        new.append(b, style=None if op == "equal" else "bold green")
    return old, new
