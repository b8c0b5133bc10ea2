"""The ``harness`` command line (click + rich).

Errors caused by the user's input (``HarnessError``) are printed as one
paragraph with a non-zero exit code; anything else keeps its traceback, because
it is a bug.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table as RichTable

from harness.adapters.commands import adapters_group
from harness.noise.cli import noise as noise_commands

from .errors import HarnessError

console = Console()
err_console = Console(stderr=True)


class HarnessGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HarnessError as exc:
            err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", soft_wrap=True)
            ctx.exit(exc.exit_code)


class BatchSize(click.ParamType):
    name = "INT|auto"

    def convert(self, value: Any, param: Any, ctx: Any) -> int | str:
        if value == "auto" or isinstance(value, int):
            return value
        try:
            size = int(value)
        except ValueError:
            self.fail(f"{value!r} is neither a whole number nor 'auto'", param, ctx)
        if size < 1:
            self.fail("must be at least 1", param, ctx)
        return size


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


include_path_option = click.option(
    "--include-path",
    "include_paths",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A folder of your own task YAML files (repeatable); its names override built-in ones.",
)


@click.group(cls=HarnessGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="xtreme-noise-harness")
def cli() -> None:
    """Zero-shot cross-lingual robustness of (intermediate-task trained) XLM-R on XTREME-R."""


def options(*decorators: Callable[[Callable], Callable]) -> Callable[[Callable], Callable]:
    """Several click options as one decorator, so ``run`` and ``train`` share them."""

    def apply(fn: Callable) -> Callable:
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn

    return apply


#: what every command that trains or evaluates takes
MODEL_AND_DATA = options(
    click.option("--model", "-m", default="xlm-roberta-large", show_default=True,
                 help="Hub id, local folder, or 'tiny' (an offline smoke model built from the run's text)."),
    click.option("--method", type=click.Choice(["full", "lora"]), default="full", show_default=True,
                 help="Full fine-tuning (Phang et al.) or LoRA adapters on the one resident base."),
    click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
                 help="Local data laid out like XTREME's download/ folder; without it, data comes from the hub."),
    include_path_option,
    click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
                 help="Results folder: records/ (one per finished cell) and one folder per run."),
    click.option("--adapter-dir", type=click.Path(path_type=Path),
                 help="Where trained models/adapters are stored and reused [default: ~/.cache/harness/adapters]."),
    click.option("--split", type=click.Choice(["validation", "test"]), default="validation", show_default=True,
                 help="Evaluation split (XTREME's download strips test labels, so validation is the default)."),
    click.option("--train-split", help="Fine-tune on this split instead of the spec's training split; if it is "
                 "also the evaluation split, a seeded half trains and the other half is evaluated."),
    click.option("--limit", type=click.IntRange(min=1), help="Evaluate a seeded sample of N docs per language."),
    click.option("--max-train-examples", type=click.IntRange(min=1), help="Train on a seeded sample of N examples."),
    click.option("--epochs", type=click.FloatRange(min=0, min_open=True), help="Override the task's epochs."),
    click.option("--lr", "learning_rate", type=click.FloatRange(min=0, min_open=True),
                 help="Override the learning rate."),
    click.option("--batch-size", type=BatchSize(), default="auto", show_default=True,
                 help="Evaluation batch size ('auto' probes GPU memory); scores never depend on it."),
    click.option("--train-batch-size", type=click.IntRange(min=1), help="Override the task's training batch size."),
    click.option("--max-length", type=click.IntRange(min=8), help="Override the maximum sequence length."),
    click.option("--rank", "lora_rank", type=click.IntRange(min=1), default=8, show_default=True, help="LoRA rank."),
    click.option("--alpha", "lora_alpha", type=click.IntRange(min=1), default=16, show_default=True,
                 help="LoRA alpha."),
    click.option("--target-modules", default="query,value", show_default=True,
                 help="Comma-separated module names LoRA adapts."),
    click.option("--temperature", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
                 help="Multi-task sampling: task probability ∝ size^(1/T); 1 is size-proportional."),
    click.option("--mlm-corpus", type=click.Path(path_type=Path, file_okay=False),
                 help="+mlm stages: a folder of unlabelled text, one <lang>.txt per language (Wikipedia, CC-100); "
                 "the smoke model may instead use the target tasks' non-English docs that are not evaluated."),
    click.option("--mlm-languages", callback=lambda _c, _p, v: _csv(v) or None,
                 help="+mlm stages: only these languages' text [default: all there are]."),
    click.option("--mlm-ratio", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
                 help="+mlm stages: masked-LM batches per task batch."),
    click.option("--mlm-rate", type=click.FloatRange(min=0, max=1, min_open=True), default=0.15, show_default=True,
                 help="+mlm stages: share of tokens masked (of those 80% <mask>, 10% random, 10% kept)."),
    click.option("--mlm-max-lines", type=click.IntRange(min=1), default=100_000, show_default=True,
                 help="+mlm stages: lines read per language file."),
    click.option("--seed", type=int, default=0, show_default=True),
    click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N."),
    click.option("--dtype", default="auto", show_default=True,
                 help="auto (bf16 on GPU, fp32 on CPU), float32, bfloat16."),
    click.option("--no-resume", is_flag=True, help="Re-evaluate cells that already have a record."),
)  # fmt: skip


def make_config(tasks: list[str], target_modules: str, no_resume: bool, **options: Any) -> Any:
    from .models import quiet_transformers
    from .pipeline import RunConfig

    quiet_transformers()
    return RunConfig(tasks=tasks, target_modules=_csv(target_modules), resume=not no_resume, **options)


def print_tables(tables: list[Any]) -> None:
    for table in tables:
        for part in table.to_rich(console.width):
            console.print(part)


@cli.command()
@click.option("--tasks", "-t", required=True, help="Comma-separated tasks, groups or tags, e.g. xnli,pawsx.")
@MODEL_AND_DATA
@click.option("--languages", help="Only these evaluation languages (comma-separated).")
@click.option(
    "--intermediate",
    "intermediates",
    default="none",
    show_default=True,
    help="Comma-separated intermediate stages to compare: none (always included), a task (mnli), a "
    "multi-task set (mnli+squad), all-intermediate, a task's translated training data (mnli@de; mnli@de,ru "
    "trains one multilingual stage), a stage with masked-LM batches mixed in (mnli+mlm), or a stored adapter (@KEY).",
)
@click.option(
    "--train-language",
    "train_languages",
    help="Fine-tune the target tasks in these languages instead of English (comma-separated; each is a row: "
    "de,ru,en compares source languages). Reads the task's translated training file where its spec names one "
    "(translate_train), else its training file in that language.",
)
@click.option(
    "--stack",
    type=click.Choice(["frozen", "continue", "merge"]),
    default="frozen",
    show_default=True,
    help="LoRA: the target adapter trains on the frozen intermediate one, starts from a copy of it, or "
    "on a copy of the base with it merged in.",
)
@click.option(
    "--no-mixed",
    "mixed",
    is_flag=True,
    flag_value=False,
    default=True,
    help="Evaluate LoRA combinations one by one instead of in mixed-adapter batches.",
)
@click.option(
    "--retrieval-layer",
    type=int,
    help="Hidden state that retrieval tasks pool (0 = embeddings, -1 = last) [default: the spec's; "
    "XTREME-R: 14 of XLM-R Large's 24].",
)
@click.option("--log-samples", is_flag=True, help="Also write per-example predictions (JSONL).")
@click.option(
    "--noise",
    multiple=True,
    help="Also evaluate under noise, with the same model: a condition (typo:0.1+drop:0.05) or a "
    "comma-separated sweep (typo:0.05,typo:0.1); see `harness noise ls`.",
)
@click.option("--train-noise", help="Noise the training data with this condition (trains and stores a separate model).")
def run(tasks: str, languages: str | None, intermediates: str, train_languages: str | None,
        include_paths: tuple[Path, ...], noise: tuple[str, ...], **options: Any) -> None:  # fmt: skip
    """Fine-tune on English (after each intermediate task), evaluate every language zero-shot, clean and noisy."""
    from .pipeline import Runner
    from .planning import split_stages

    config = make_config(_csv(tasks), languages=_csv(languages) or None, include_paths=list(include_paths),
                         noise=list(noise), intermediates=split_stages(intermediates),
                         train_languages=_csv(train_languages) or None, **options)  # fmt: skip
    result = Runner(config, err_console).run()
    print_tables(result["table_objs"])
    timings = result["timings"]
    err_console.print(
        f"Done in {timings['total_s']:.1f}s (data {timings['prepare_data_s']:.1f}s, model load "
        f"{timings['load_model_s']:.1f}s). Results: {result['run_dir'] / 'results.json'}"
    )


@cli.command()
@click.option(
    "--task",
    "-t",
    "task",
    required=True,
    help="An intermediate task (mnli), a multi-task set (mnli,squad,hellaswag: one shared adapter, one head "
    "per task), all-intermediate, translated training data (mnli@de,ru) or a stage with masked-LM batches "
    "(mnli,mlm).",
)
@MODEL_AND_DATA
def train(task: str, include_paths: tuple[Path, ...], **options: Any) -> None:
    """Train (or reuse) an intermediate-task adapter or checkpoint, and show its dev scores."""
    from .pipeline import Runner
    from .planning import split_stages

    stage = "+".join(split_stages(task))
    config = make_config([], include_paths=list(include_paths), intermediates=[stage], **options)
    result = Runner(config, err_console).train(stage)
    print_tables([result["table"]])
    err_console.print(
        f"Artefact {result['key']} in {result['store']}; use it with `harness run --intermediate "
        f"{stage}` (or `--intermediate @{result['key']}` elsewhere after `harness adapters export`)."
    )


@cli.group(cls=HarnessGroup)
def tasks() -> None:
    """List, show, validate and generate task specs."""


@tasks.command("ls")
@include_path_option
@click.option("--all", "show_all", is_flag=True, help="Also list every per-language task.")
def tasks_ls(include_paths: tuple[Path, ...], show_all: bool) -> None:
    """The groups, tasks and tags the registry knows."""
    from .registry import TaskIndex

    index = TaskIndex(include_paths)
    grouped = {t for g in index.names("group") for t in index.group(g).task}
    table = RichTable(title="Tasks", title_justify="left")
    for col in ("name", "kind", "type", "role", "languages"):
        table.add_column(col)
    for name in index.names():
        entry = index.entries[name]
        if entry.kind == "task" and name in grouped and not show_all:
            continue
        if entry.kind == "tag":
            table.add_row(name, "tag", "", "", f"{len(index.expand(name))} tasks")
            continue
        members = [index.task(t) for t in index.expand(name)]
        langs = sorted({t.language for t in members})
        table.add_row(
            name,
            entry.kind,
            members[0].task_type if members else "",
            members[0].role if members else "",
            f"{len(langs)}: {' '.join(langs)}",
        )
    console.print(table)


@tasks.command("show")
@click.argument("name")
@include_path_option
def tasks_show(name: str, include_paths: tuple[Path, ...]) -> None:
    """The fully resolved spec of a task (includes applied, hooks shown with their source)."""
    import yaml

    from .registry import TaskIndex

    index = TaskIndex(include_paths)
    entry = index.entry(name)
    data = (
        index.task(name).to_dict()
        if entry.kind == "task"
        else index.group(name).to_dict()
        if entry.kind == "group"
        else {"tag": name, "tasks": index.expand(name)}
    )
    console.print(f"# {entry.kind} {name}" + (f" from {entry.path}" if entry.path else ""))
    console.print(Syntax(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110), "yaml"))


@tasks.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def tasks_validate(paths: tuple[Path, ...]) -> None:
    """Check task and group YAML files (keys, includes, hooks, templates' syntax)."""
    from .validate import validate_paths

    checked = validate_paths(list(paths))
    console.print(f"[green]OK[/]: {len(checked)} file(s) valid.")


@tasks.command("generate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def tasks_generate(paths: tuple[Path, ...]) -> None:
    """Write per-language task files and the group file from a family's *_common file."""
    from .generate import generate

    written = generate(list(paths))
    console.print(f"Wrote {len(written)} file(s).")


@cli.command()
@click.argument("output", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["terminal", "markdown", "csv", "latex", "html"]),
    default="terminal",
    show_default=True,
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also draw robustness curves (score against noise rate per task) into this .png/.pdf/.svg file.",
)
@include_path_option
def report(output: Path, fmt: str, plot: Path | None, include_paths: tuple[Path, ...]) -> None:
    """Tables of every record in a results folder (several runs, grids, seeds): leaderboard, benchmark scores,
    robustness summary, applied noise; `--plot` draws the robustness curves."""
    from .registry import TaskIndex
    from .report import all_tables
    from .results import CellStore

    records = CellStore(output).all()
    if not records:
        raise HarnessError(f"No result records under {output}/records; run `harness run --output {output}` first.")
    tables = all_tables(records, TaskIndex(include_paths).benchmarks(), f"Results in {output}")
    if fmt == "terminal":
        print_tables(tables)
    else:
        click.echo("\n".join(table.render(fmt) for table in tables), nl=False)
    if plot:
        from .plots import plot_robustness

        err_console.print(f"Robustness curves: {plot_robustness(records, plot)}")


@cli.command("export-predictions")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["xtreme"]), default="xtreme", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="Destination [default: RUN_DIR/xtreme].")
@click.option("--intermediate", default="none", show_default=True, help="Which intermediate's model.")
@click.option("--condition", default="clean", show_default=True, help="Which condition (clean or a noise spec).")
def export_predictions(run_dir: Path, fmt: str, out: Path | None, intermediate: str, condition: str) -> None:
    """Write a run's predictions (and gold answers) as google-research/xtreme's evaluate.py reads them."""
    from .export import export_xtreme

    dest = out or run_dir / fmt
    written = export_xtreme(run_dir, dest, intermediate, condition)
    console.print(
        f"Wrote {len(written)} files under {dest}. Score them with google-research/xtreme: "
        f"python evaluate.py --prediction_folder {dest}/predictions --label_folder {dest}/labels"
    )


cli.add_command(adapters_group)
cli.add_command(noise_commands)


def main() -> None:
    cli(prog_name="harness")
