"""The ``harness`` command line (click + rich).

Errors caused by the user's input (``HarnessError``) are printed as one
paragraph with a non-zero exit code; anything else keeps its traceback, because
it is a bug. Commands import the package's heavy modules inside their functions:
``--help`` and argument errors must not wait seconds for torch, transformers and
datasets (the only reason an own module is imported inside a function here).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
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
from .jsonio import dumps
from .plugins import plugin_option

console = Console()
err_console = Console(stderr=True)


class HarnessGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if ctx.parent is None:  # the whole command line, once
            args = lm_eval_spellings(self, args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HarnessError as exc:
            err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", soft_wrap=True)
            ctx.exit(exc.exit_code)


class ListOption(click.Option):
    """A comma-separated list that also takes its values space-separated, as lm-eval does: ``--tasks xnli pawsx``."""


def lm_eval_spellings(command: click.Command, args: list[str]) -> list[str]:
    """The command line with the spellings users bring from lm-eval made ours: ``--data_dir`` for ``--data-dir``
    (any option with ``_`` for ``-``), and ``--tasks a b`` for ``--tasks a,b`` (a ``ListOption``)."""
    if isinstance(command, click.Group):
        sub = command.commands.get(args[0]) if args else None
        return [args[0], *lm_eval_spellings(sub, args[1:])] if sub is not None else args
    known = {opt: param for param in command.params for opt in [*param.opts, *param.secondary_opts]}
    out: list[str] = []
    i = 0
    while i < len(args):
        arg, i = args[i], i + 1
        if arg == "--":  # what follows is not options
            return out + args[i - 1 :]
        name, eq, value = arg.partition("=")
        if name.startswith("--") and name not in known and name.replace("_", "-") in known:
            name = name.replace("_", "-")
        if isinstance(known.get(name), ListOption):
            values = [value] if eq else []
            while i < len(args) and not args[i].startswith("-"):
                values, i = [*values, args[i]], i + 1
            out += [name, ",".join(values)] if values else [name]
        else:
            out.append(name + eq + value)
    return out


class Interrupted(SystemExit):
    """Ctrl-C or SIGTERM ended the work; what is finished is on disk (exit status 130, as a shell reports Ctrl-C)."""

    status = 130

    def __init__(self) -> None:
        super().__init__(self.status)


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM (and SIGINT) inside ``resumable``: unwind as Ctrl-C does, so that locks and temporaries are released
    by the code that holds them."""
    raise KeyboardInterrupt


@contextmanager
def resumable(output: Path) -> Iterator[None]:
    """Ctrl-C or SIGTERM (what batch schedulers send before killing a job) stop the work at once, with a note
    on what is kept and how to resume, instead of a traceback.

    Both unwind as ``KeyboardInterrupt``: every finished cell's record is
    already on disk (each is written atomically when it is done), a half-written
    one leaves no file, and the same command resumes where it stopped.
    """
    previous = {signum: signal.signal(signum, _interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except KeyboardInterrupt:
        records = Path(output) / "records"
        kept = len(list(records.glob("*.json"))) if records.is_dir() else 0
        err_console.print(
            f"[bold yellow]Interrupted.[/] {kept} finished cell record(s) are kept in {records}; run the same command "
            f"again to resume: finished cells are not evaluated again and trained models are reused.",
            soft_wrap=True,
        )
        raise Interrupted from None
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


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


class Limit(click.ParamType):
    """``--limit``: a number of docs (a whole number, at least 1) or, as in lm-eval, a share of them (0 < x < 1)."""

    name = "N|SHARE"

    def convert(self, value: Any, param: Any, ctx: Any) -> int | float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is neither a number of docs nor a share of them (0.1)", param, ctx)
        if number >= 1 and number.is_integer():
            return int(number)
        if 0 < number < 1:
            return number
        self.fail(f"{value}: give a whole number of docs (100) or a share between 0 and 1 (0.1)", param, ctx)


class CommaList(click.ParamType):
    """A comma-separated list of choices (``--method lora,full``)."""

    name = "LIST"

    def __init__(self, choices: list[str]) -> None:
        self.choices = choices

    def convert(self, value: Any, param: Any, ctx: Any) -> list[str]:
        values = value if isinstance(value, list) else _csv(str(value))
        bad = [v for v in values if v not in self.choices]
        if bad or not values:
            self.fail(f"{', '.join(bad) or 'nothing'} is not one of {', '.join(self.choices)}", param, ctx)
        return list(dict.fromkeys(values))


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
    click.option("--model-args", help="How the base is loaded, lm-eval style, e.g. revision=main,dtype=bfloat16. Keys: "
                 "revision, attn_implementation (eager, sdpa, flash_attention_2, flex_attention), dtype (as "
                 "--dtype), trust_remote_code (off unless true: it runs the model repository's code)."),
    click.option("--method", "methods", type=CommaList(["full", "lora"]), default="full", show_default=True,
                 help="Full fine-tuning (Phang et al.) or LoRA adapters on the one resident base; `harness run` "
                 "takes both (lora,full) and runs the grid under each."),
    click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
                 help="Local data laid out like XTREME's download/ folder; without it, data comes from the hub."),
    include_path_option,
    plugin_option,
    click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
                 help="Results folder: records/ (one per finished cell) and one folder per run."),
    click.option("--adapter-dir", type=click.Path(path_type=Path),
                 help="Where trained models/adapters are stored and reused [default: ~/.cache/harness/adapters]."),
    click.option("--split", type=click.Choice(["validation", "test"]), default="validation", show_default=True,
                 help="Evaluation split (XTREME's download strips test labels, so validation is the default)."),
    click.option("--train-split", help="Fine-tune on this split instead of the spec's training split; if it is "
                 "also the evaluation split, a seeded half trains and the other half is evaluated."),
    click.option("--limit", type=Limit(), help="Evaluate a seeded sample of N docs per language, or a share of "
                 "them (0.1: a tenth, rounded up); Tatoeba/BUCC: N queries against the whole pool; the smoke model "
                 "also trains on at most N."),
    click.option("--limit-pool", is_flag=True, help="With --limit, Tatoeba/BUCC search only the sampled sentences "
                 "(faster; scores not comparable to full-pool ones, and tables say so)."),
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
    click.option("--seqeval", type=click.Choice(["installed", "0.0.12"]), default="installed", show_default=True,
                 help="Tagging F1 with the installed seqeval (1.x: evaluate.py today, XTREME-R) or seqeval 0.0.12's "
                 "rule for POS tags, current when XTREME was published; every record names its scorer."),
    click.option("--seed", type=int, default=0, show_default=True,
                 help="Training seed (initialisation, batch order); the docs and the noise stay the same."),
    click.option("--sample-seed", type=int, default=0, show_default=True,
                 help="Which docs --limit, --max-train-examples and held-out halves draw."),
    click.option("--noise-seed", type=int, default=0, show_default=True, help="Which edits the noise makes."),
    click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N."),
    click.option("--dtype", default="auto", show_default=True,
                 help="auto (bf16 on GPU, fp32 on CPU), float32, bfloat16. Under bf16 evaluation stores the "
                 "Linear weights in bf16 (the same outputs as autocast, without recasting them every forward)."),
    click.option("--compile", is_flag=False, flag_value="inductor", default=None, metavar="[BACKEND]",
                 help="Run evaluation forward passes through torch.compile (dynamic shapes) with this backend "
                 "[--compile alone: inductor]. Off by default; pays on a GPU for long cells, not on a CPU."),
    click.option("--no-resume", is_flag=True, help="Re-evaluate cells that already have a record."),
)  # fmt: skip


def make_configs(tasks: list[str], target_modules: str, no_resume: bool, methods: list[str], seeds: str | None = None,
                 model_args: str | None = None, **options: Any) -> list[Any]:  # fmt: skip
    """One run configuration per (method, training seed) of the grid, each argument checked before torch,
    transformers and datasets are imported (``harness.preflight``)."""
    from .config import RunConfig
    from .preflight import check_run, parse_model_args
    from .registry import TaskIndex

    try:
        seed_list = [int(s) for s in _csv(seeds)] or [options.pop("seed")]
    except ValueError:
        raise HarnessError(f"--seeds {seeds!r}: give whole numbers separated by commas, e.g. --seeds 1,2,3.") from None
    options.pop("seed", None)
    load = parse_model_args(model_args, options["model"])
    dtype = load.pop("dtype", options["dtype"])
    if options["dtype"] not in ("auto", dtype):
        raise HarnessError(f"--dtype {options['dtype']} and --model-args dtype={dtype} disagree; give one of them.")
    options["dtype"] = dtype
    configs = [RunConfig(tasks=tasks, target_modules=_csv(target_modules), resume=not no_resume, method=method,
                         seed=seed, model_args=load, **options)
               for method in methods for seed in seed_list]  # fmt: skip
    checked = check_run(configs[0], TaskIndex(configs[0].include_paths))  # the others differ in method and seed
    from .models import quiet_transformers  # the heavy imports start here

    quiet_transformers()
    return [replace(config, tasks=checked.tasks) for config in configs]


def print_tables(tables: list[Any]) -> None:
    for table in tables:
        for part in table.to_rich(console.width):
            console.print(part)


@cli.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A YAML experiment file whose keys are this command's options (tasks: [xnli, pawsx], seeds: "
    "[1, 2], ...); options given on the command line override it.",
)
@click.option(
    "--tasks", "-t", cls=ListOption, help="Tasks, groups or tags, comma- or space-separated: xnli,pawsx or xnli pawsx."
)
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
@click.option("--train-unscorable", is_flag=True, help="Train a task even when none of its evaluation cells can "
              "be scored (no gold labels, e.g. XTREME's blanked TyDiQA dev answers); by default it is skipped.")  # fmt: skip
@click.option(
    "--noise",
    multiple=True,
    help="Also evaluate under noise, with the same model: a condition (typo:0.1+drop:0.05) or a "
    "comma-separated sweep (typo:0.05,typo:0.1); see `harness noise ls`. Adversarial attacks on each model: "
    "attack:charflip|homoglyph|codemix[:words=0.2:queries=500], attack-set:PATH (a stored set).",
)
@click.option("--train-noise", help="Noise the training data with this condition (trains and stores a separate model).")
@click.option("--seeds", help="Comma-separated training seeds: the whole grid once per seed (instead of --seed).")
@click.option(
    "--dry-run", is_flag=True, help="List every unit of the plan, what is done and the work left; run nothing."
)
@click.option(
    "--executor",
    type=click.Choice(["local", "ray", "slurm"]),
    default="local",
    show_default=True,
    help="Where units run: this process, Ray actors (pip install -e '.[ray]'), or SLURM jobs through "
    "submitit (pip install -e '.[slurm]').",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Ray actors, or SLURM array tasks at once [default: one Ray actor per GPU of the cluster, else per CPU].",
)
@click.option("--ray-address", help="A running Ray cluster (auto, or ray://HOST:10001) [default: start one here].")
@click.option("--slurm-partition", help="SLURM partition of the job arrays.")
@click.option("--slurm-gpus-per-node", type=click.IntRange(min=0), default=1, show_default=True)
@click.option(
    "--slurm-time",
    type=click.IntRange(min=1),
    default=240,
    show_default=True,
    help="Time limit of one array task, in minutes.",
)
@click.option(
    "--slurm-cluster",
    type=click.Choice(["slurm", "local", "debug"]),
    default="slurm",
    show_default=True,
    help="submitit's backend: local and debug run the same job arrays on this machine (tests, checks).",
)
@click.pass_context
def run(ctx: click.Context, config_file: Path | None, **params: Any) -> None:
    """Fine-tune on English (after each intermediate task), evaluate every language zero-shot, clean and noisy.

    Lists of tasks, intermediates, noise conditions, seeds and methods make a grid; it is planned as units of
    work (train a stage, train a target on it, evaluate a cell) and run by --executor."""
    from .experiment import apply_experiment_file

    if config_file is not None:
        apply_experiment_file(ctx, config_file)
        params = {k: ctx.params[k] for k in params}
    run_grid(**params)


def run_grid(tasks: str | None, languages: str | None, intermediates: str, train_languages: str | None,
             include_paths: tuple[Path, ...], noise: tuple[str, ...], dry_run: bool, executor: str,
             workers: int | None, ray_address: str | None, slurm_partition: str | None, slurm_gpus_per_node: int,
             slurm_time: int, slurm_cluster: str,
             **options: Any) -> None:  # fmt: skip
    from .config import split_stages
    from .replay import fingerprint, remember, replay
    from .sample import default_data_dir

    if not tasks:
        raise HarnessError("harness run needs --tasks (or a tasks: key in the --config file), e.g. --tasks xnli.")
    if options["data_dir"] is None:  # offline without data: the sample embedded in the package
        options["data_dir"] = default_data_dir(_csv(tasks), list(include_paths), err_console)
    plan = None
    if not (dry_run or options["no_resume"] or options["log_samples"]):
        plan = fingerprint({**options, "tasks": tasks, "languages": languages, "intermediates": intermediates,
                            "train_languages": train_languages, "include_paths": include_paths, "noise": noise})  # fmt: skip
        replayed = replay(options["output"], plan)
        if replayed is not None:
            show_results(*replayed, note="nothing to do: every cell of this plan is recorded")
            return

    configs = make_configs(_csv(tasks), languages=_csv(languages) or None, include_paths=list(include_paths),
                           noise=list(noise), intermediates=split_stages(intermediates),
                           train_languages=_csv(train_languages) or None, **options)  # fmt: skip
    from .executors import LocalExecutor, RayExecutor, SlurmExecutor, describe
    from .pipeline import Runner

    with resumable(configs[0].output):
        runners = [Runner(config, err_console).prepare() for config in configs]
        units = list({unit.key: unit for runner in runners for unit in runner.units()}.values())
        if dry_run:
            describe(units, console)
            return
        if executor == "ray":
            RayExecutor(err_console, ray_address, workers).run(units)
        elif executor == "slurm":
            folder = configs[0].output / "slurm"
            SlurmExecutor(err_console, folder, slurm_partition, slurm_gpus_per_node, slurm_time,
                          None if slurm_cluster == "slurm" else slurm_cluster, workers).run(units)  # fmt: skip
        else:
            LocalExecutor(err_console).run(units)
        results = [runner.finish() for runner in runners]
    remember(configs[0].output, plan, results, len(units))
    show_results(results, len(units))


def show_results(results: list[dict[str, Any]], units: int, note: str = "") -> None:
    """The tables of one run, or of the runs of a seeds × methods grid together, and where the results are."""
    if len(results) == 1:
        print_tables(results[0]["table_objs"])
    else:
        from .report import all_tables
        from .results import CellStore

        records = [r for result in results for r in result["results"]]
        skipped = CellStore(results[0]["run_dir"].parent).scan().skipped  # files in records/ that are not records
        print_tables(all_tables(records, results[0]["benchmarks"], f"{len(results)} runs (seeds × methods)",
                                skipped))  # fmt: skip
    runs = ", ".join(str(result["run_dir"] / "results.json") for result in results)
    err_console.print(f"Done: {units} units{f' ({note})' if note else ''}. Results: {runs}")


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
    from .config import split_stages

    stage = "+".join(split_stages(task))
    if len(options["methods"]) > 1:
        raise HarnessError("harness train trains one stage: give one --method (full or lora).")
    (config,) = make_configs([], include_paths=list(include_paths), intermediates=[stage], **options)
    from .pipeline import Runner

    with resumable(config.output):
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
    """The benchmark groups (with their member tasks), the tasks and the tags the registry knows."""
    from .registry import TaskIndex

    index = TaskIndex(include_paths)
    benchmarks = index.benchmarks()
    if benchmarks:
        groups = RichTable(title="Benchmark groups (scored as the benchmark scores them)", title_justify="left")
        for col in ("name", "tasks (languages scored)", "languages"):
            groups.add_column(col)
        for name, scored in benchmarks.items():
            languages = {index.task(t).language for t in index.expand(name)}
            listed = [f"{m} ({len(index.expand(m)) if keep is None else len(keep)})" for m, keep in scored.items()]
            groups.add_row(name, " ".join(listed), str(len(languages)))
        console.print(groups)
    family = {t: g for g in index.names("group") if g not in benchmarks for t in index.group(g).task}
    table = RichTable(title="Tasks (a group: one task per language)", title_justify="left")
    for col in ("name", "kind", "type", "role", "languages"):
        table.add_column(col)
    tags = RichTable(title="Tags", title_justify="left")
    for col in ("name", "tasks", "groups and tasks"):
        tags.add_column(col)
    for name in index.names():
        entry = index.entries[name]
        if name in benchmarks or (entry.kind == "task" and name in family and not show_all):
            continue
        if entry.kind == "tag":
            tasks_of_tag = index.expand(name)
            tags.add_row(name, str(len(tasks_of_tag)), " ".join(dict.fromkeys(family.get(t, t) for t in tasks_of_tag)))
            continue
        members = [index.task(t) for t in index.expand(name)]
        langs = sorted({t.language for t in members})
        table.add_row(
            name,
            entry.kind,
            str(members[0].task_type) if members else "",
            members[0].role if members else "",
            f"{len(langs)}: {' '.join(langs)}",
        )
    console.print(table)
    if tags.row_count:
        console.print(tags)


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
    if entry.kind == "task":
        from .validate import imported_files

        for path in imported_files(index.task(name)):
            console.print(f"# imports Python code from {path}")
    console.print(Syntax(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110), "yaml"))


@tasks.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@plugin_option
def tasks_validate(paths: tuple[Path, ...], plugins: list[str]) -> None:
    """Check task and group YAML files (keys, includes, hooks, templates' syntax, the plugins they use)."""
    from .validate import plugin_rows, validate_paths

    checked, imported = validate_paths(list(paths))
    console.print(f"[green]OK[/]: {len(checked)} file(s) valid.")
    if imported:
        console.print(f"They import Python code (run it only if you trust it): {', '.join(map(str, imported))}")
    rows = plugin_rows()
    if rows:
        table = RichTable(title="Plugins (registered from outside the package)", title_justify="left")
        for column in ("kind", "name", "defined by", "file"):
            table.add_column(column, overflow="fold")
        for kind, name, origin in rows:
            table.add_row(kind, name, origin.qualname, origin.file)
        console.print(table)


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
    type=click.Choice(["terminal", "markdown", "md", "csv", "latex", "json", "html"]),
    default="terminal",
    show_default=True,
    help="md is markdown; html: one self-contained page (sortable, filterable tables, plots, the runs' configuration).",
)
@click.option("--task", "tasks", help="Only these task families or tasks (comma-separated).")
@click.option("--lang", "languages", help="Only these languages (comma-separated).")
@click.option("--noise", "conditions", help="Only these noise conditions (comma-separated; clean is always kept).")
@click.option(
    "--intermediate", "intermediates", help="Only these intermediates (comma-separated; none is always kept)."
)
@click.option("--by", "by", help="A report per value of these settings (comma-separated: task, model, method, "
              "intermediate, condition, language), or `seed` for one row per training seed instead of their mean.")  # fmt: skip
@click.option("--resamples", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Bootstrap resamples and randomisation-test permutations (0: no intervals or tests).")  # fmt: skip
@click.option("--stats-seed", type=int, default=0, show_default=True, help="Seed of the bootstrap and the tests.")
@click.option("--correction", type=click.Choice(["holm", "bh", "none"]), default="holm", show_default=True,
              help="Multiple-comparison correction over each table's tests (Holm, Benjamini–Hochberg).")  # fmt: skip
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also draw robustness curves (score against noise rate per task) into this .png/.pdf/.svg file.",
)
@include_path_option
def report(output: Path, fmt: str, plot: Path | None, include_paths: tuple[Path, ...], by: str | None,
           resamples: int, stats_seed: int, correction: str, **filters: str | None) -> None:  # fmt: skip
    """Tables of every record in a results folder (several runs, grids, seeds): leaderboard, benchmark scores,
    robustness with intervals and paired tests, applied noise; `--plot` draws the robustness curves."""
    from .analysis import Analysis
    from .registry import TaskIndex
    from .report import all_tables, report_sections, skipped_table
    from .results import CellStore

    fmt = "markdown" if fmt == "md" else fmt
    store = CellStore(output)
    scan = store.scan()
    records = scan.records
    if not records:
        skipped = "".join(f" {s.path.name}: {s.reason}." for s in scan.skipped)
        raise HarnessError(f"No result records under {output}/records; run `harness run --output {output}` "
                           f"first.{skipped}")  # fmt: skip
    analysis = Analysis(store, seed=stats_seed, resamples=resamples, correction=correction)
    sections = report_sections(records, {k: _csv(v) for k, v in filters.items()}, _csv(by))
    benchmarks = TaskIndex(include_paths).benchmarks()
    if fmt == "html":
        from .html_report import page

        click.echo(page(sections, analysis, benchmarks, f"Results in {output}", scan.skipped), nl=False)
    else:
        tables = [t for title, chosen, by_seed in sections
                  for t in all_tables(chosen, benchmarks, f"Results in {output}{title}", (), analysis, by_seed)]  # fmt: skip
        tables += [t for t in [skipped_table(scan.skipped), analysis.notes_table()] if t]
        if fmt == "terminal":
            print_tables(tables)
        elif fmt == "json":
            click.echo(dumps({"tables": [t.to_json() for t in tables]}, ensure_ascii=False, indent=2))
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
@plugin_option  # a plugin's task type writes its own files
def export_predictions(run_dir: Path, fmt: str, out: Path | None, intermediate: str, condition: str,
                       plugins: list[str]) -> None:  # fmt: skip
    """Write a run's predictions (and gold answers) as google-research/xtreme's evaluate.py reads them.

    One folder per task, test-<lang> files in the format evaluate.py's reader for that task expects, and the
    evaluate.py command (with --xtreme_version and the required --output_file) to score them. Not written, each
    with the reason: LAReQA, which evaluate.py cannot score (XTREME-R scores it from the model with
    scripts/run_eval_lareqa.sh; the run's own lareqa mAP@20 is computed as that script does) and files the
    official scorer could not read (e.g. questions without a gold answer).
    """
    from .export import export_xtreme

    dest = out or run_dir / fmt
    done = export_xtreme(run_dir, dest, intermediate, condition)
    for what, why in done.refused.items():
        err_console.print(f"[yellow]{what}[/]: not exported: {why}")
    if not done.written:
        raise HarnessError(f"Nothing in {run_dir} could be exported for evaluate.py (reasons above).")
    console.print(f"Wrote {len(done.written)} files under {dest}. Score them with google-research/xtreme:")
    for command in done.commands:
        console.print(command, soft_wrap=True)
    for version, missing in done.missing.items():
        if missing:
            err_console.print(f"[yellow]--xtreme_version {version}[/] reads every language of its lists for each task "
                              f"folder and stops at the first missing file; here: {'; '.join(missing)}.")  # fmt: skip


cli.add_command(adapters_group)
cli.add_command(noise_commands)


def main() -> None:
    try:
        cli(prog_name="harness")
    except Interrupted as exc:
        # Tearing down the interpreter (the model, datasets' Arrow tables) takes seconds, and an interrupted user
        # or a scheduler's grace period should not wait for it: every record is already on disk. Exit handlers
        # are skipped, so the one that matters, a local Ray cluster's shutdown, is run here.
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():
            ray.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(exc.status)
