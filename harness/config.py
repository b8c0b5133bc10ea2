"""``RunConfig``: everything one ``harness run`` takes, recorded whole in its result file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import HarnessError
from .hub import DEFAULT_MODEL

#: the intermediate value that means "fine-tune the base directly", the baseline of every comparison
NO_INTERMEDIATE = "none"


@dataclass
class RunConfig:
    tasks: list[str]
    model: str = DEFAULT_MODEL
    #: ``--model-args``: revision, attn_implementation, trust_remote_code (how the base is loaded)
    model_args: dict[str, Any] = field(default_factory=dict)
    method: str = "full"
    data_dir: Path | None = None
    include_paths: list[Path] = field(default_factory=list)
    output: Path = Path("runs")
    adapter_dir: Path | None = None
    languages: list[str] | None = None
    split: str = "validation"
    train_split: str | None = None
    limit: int | float | None = None  # docs per language, or a share of them (0 < x < 1)
    limit_pool: bool = False  # --limit also shrinks Tatoeba/BUCC's retrieval pool to the sample (not comparable)
    max_train_examples: int | None = None
    epochs: float | None = None
    learning_rate: float | None = None
    batch_size: int | str = "auto"  # evaluation; results never depend on it
    train_batch_size: int | None = None  # a hyperparameter: part of the trained model's key
    max_length: int | None = None
    retrieval_layer: int | None = None
    seqeval: str = "installed"  # tagging F1 with the installed seqeval, or "0.0.12": that release's POS-tag rule
    lora_rank: int = 8
    lora_alpha: int = 16
    target_modules: list[str] = field(default_factory=lambda: ["query", "value"])
    seed: int = 0  # training: initialisation, batch order (a different seed, a different model)
    sample_seed: int = 0  # which docs: the --limit sample, held-out halves, the training subsample
    noise_seed: int = 0  # which edits the noise makes (evaluation and --train-noise)
    device: str = "auto"
    dtype: str = "auto"
    compile: str | None = None  # a torch.compile backend for evaluation forward passes (--compile); None: eager
    log_samples: bool = False
    resume: bool = True
    noise: list[str] = field(default_factory=list)  # conditions evaluated besides clean, e.g. ["typo:0.1"]
    train_noise: str | None = None  # noise on the training data (the classic robustness baseline)
    #: the source-language axis: fine-tune targets in each of these languages (None: each spec's own, English)
    train_languages: list[str] | None = None
    #: intermediate stages: "none", a task ("mnli"), a multi-task set ("mnli+squad"), a translated
    #: task ("mnli@de,ru"), masked-LM batches mixed in ("mnli+mlm"), or a stored artefact ("@key")
    intermediates: list[str] = field(default_factory=lambda: [NO_INTERMEDIATE])
    #: ``+mlm`` stages: a folder of <lang>.txt files, the languages used, masked-LM batches per task batch,
    #: the share of tokens masked, and the lines read per language
    mlm_corpus: Path | None = None
    mlm_languages: list[str] | None = None
    mlm_ratio: float = 1.0
    mlm_rate: float = 0.15
    mlm_max_lines: int = 100_000
    stack: str = "frozen"  # how a LoRA target adapter sits on an intermediate one: frozen | continue | merge
    temperature: float = 1.0  # multi-task intermediate sampling: 1 = size-proportional
    mixed: bool = True  # evaluate LoRA combinations in mixed-adapter batches where possible
    #: train targets even when none of their evaluation cells can be scored (no gold labels); their rows stay empty
    train_unscorable: bool = False
    #: --plugin modules and .py files (absolute paths) whose registrations the run needs, loaded by every worker
    plugins: list[str] = field(default_factory=list)


#: the stage part that mixes masked-LM batches on unlabelled multilingual text into a stage (``anli+mlm``)
MLM = "mlm"
#: a comma-separated value that continues ``mnli@de,ru``'s language list rather than naming a new stage
_LANGUAGE_CONTINUATION = re.compile(r"^[a-z]{2}(\+|$)")


def split_stages(text: str) -> list[str]:
    """``--intermediate`` values: comma-separated stages, where the commas of ``mnli@de,ru`` list languages
    (a two-letter part right after a stage with ``@`` continues its list: ``none,mnli@de,ru,anli``)."""
    stages: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if stages and "@" in stages[-1].lstrip("@") and _LANGUAGE_CONTINUATION.match(part):
            stages[-1] += "," + part
        elif part:
            stages.append(part)
    return stages


def parse_stage(name: str) -> tuple[list[tuple[str, list[str]]], bool]:
    """A stage name → its (task, training languages) parts and whether masked-LM batches are mixed in.

    ``mnli``, ``mnli+squad`` (multi-task), ``mnli@de`` (MNLI's translated training split), ``mnli@de,ru``
    (one multilingual training set), ``anli+mlm`` (ANLI with masked-LM batches); languages ``[]``: the task's own.
    """
    parts = name.split("+")
    mlm = MLM in parts
    tasks = []
    for part in (p for p in parts if p != MLM):
        task, _, langs = part.partition("@")
        tasks.append((task, [lang.strip() for lang in langs.split(",") if lang.strip()]))
    if not tasks:
        raise HarnessError(f"Stage {name!r}: +mlm mixes masked-LM batches into a task stage; name the task too, "
                           f"e.g. mnli+mlm.")  # fmt: skip
    return tasks, mlm
