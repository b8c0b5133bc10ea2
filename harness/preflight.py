"""Every mistake in a run's arguments, found before torch, transformers and datasets are imported.

Importing those takes seconds (tens on a busy machine), and a typo in a task,
language, noise condition, stage, model or folder should not cost that wait. So
the command line checks what the arguments, the task index (YAML only) and the
noise catalogue can tell, here, and the ``Runner`` calls the same function for
callers that build a ``RunConfig`` themselves. What needs the libraries (a
device, the files of a task) is checked by the code that uses them.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from pathlib import Path

from .config import NO_INTERMEDIATE, RunConfig, parse_stage
from .errors import HarnessError
from .hub import DTYPES, check_dtype, check_hub_model, check_model_name, is_hub_id, offline_reason
from .registry import TaskIndex

#: ``--model-args`` keys (lm-eval's names) -> what they take
MODEL_ARGS = {
    "revision": "a branch, tag or commit of the hub model",
    "dtype": f"auto or {', '.join(DTYPES)}, as --dtype",
    "attn_implementation": "eager, sdpa, flash_attention_2 or flex_attention",
    "trust_remote_code": "true runs the model repository's own Python code; off unless given",
}
#: the device types of torch a model can run on (``--device``; ``cuda:N`` names one of several)
DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "hpu", "npu", "mtia", "xla", "meta")
ATTENTION = ("eager", "sdpa", "flash_attention_2", "flex_attention")
_BOOLEAN = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def check_run(config: RunConfig, index: TaskIndex) -> RunConfig:
    """``config`` with its task names as the index spells them (``paws_x`` -> ``pawsx``), or the error that names
    the argument and how to fix it."""
    from .noise import parse, parse_conditions

    _check_folders(config)
    tasks = [index.entry(name).name for name in config.tasks]  # did-you-mean for unknown names
    if config.languages:  # (training languages may be others: a translated file names its own)
        check_languages(tasks, config.languages, {index.task(t).language for n in tasks for t in index.expand(n)})
    for stage in config.intermediates:
        _check_stage(stage, index)
    parse_conditions(config.noise)
    if config.train_noise:
        parse(config.train_noise)
    check_dtype(config.dtype, f"--dtype {config.dtype!r}")
    _check_device(config.device)
    check_model_name(config.model)
    check_hub_model(config.model, config.model_args.get("revision"))
    if config.data_dir is None:
        offline_reason()  # decided now, so that datasets does not retry the hub for each file
    return replace(config, tasks=tasks)


def check_languages(tasks: list[str], languages: list[str], available: set[str]) -> None:
    unknown = [lang for lang in languages if lang not in available]
    if unknown:
        close = {lang: difflib.get_close_matches(lang, sorted(available), n=1) for lang in unknown}
        hints = [f"{lang} -> {match[0]}?" for lang, match in close.items() if match]
        raise HarnessError(
            f"Unknown language(s) {', '.join(unknown)} for tasks {', '.join(tasks)}; they cover: "
            f"{', '.join(sorted(available))}." + (f" Did you mean: {', '.join(hints)}" if hints else "")
        )


def _check_device(device: str) -> None:
    """The device's name (whether torch sees it is known once torch is imported)."""
    kind, _, index = device.partition(":")
    if device != "auto" and (kind not in DEVICE_TYPES or index and not index.isdigit()):
        close = difflib.get_close_matches(kind, ["auto", *DEVICE_TYPES], n=1)
        hint = f" Did you mean {close[0]}?" if close else ""
        raise HarnessError(f"--device {device!r} is not a device.{hint} Use auto, cpu, cuda or cuda:N (or mps, xpu).")


def _check_folders(config: RunConfig) -> None:
    if config.output.exists() and not config.output.is_dir():
        raise HarnessError(f"--output {config.output} is a file; results go into a folder. Pass a folder name.")
    for option, folder in (("--data-dir", config.data_dir), ("--mlm-corpus", config.mlm_corpus)):
        if folder is not None and not Path(folder).is_dir():
            raise HarnessError(f"{option} {folder}: no such folder.")


def _check_stage(stage: str, index: TaskIndex) -> None:
    """An intermediate stage: none, a stored ``@KEY``, all-intermediate, or tasks that are one English task each."""
    from .adapters.store import check_key

    if stage == NO_INTERMEDIATE or stage == "all-intermediate":
        return
    if stage.startswith("@"):
        check_key(stage[1:], where=f"--intermediate {stage}: ")
        return
    for part, _ in parse_stage(stage)[0]:
        found = index.expand(part)
        if len(found) != 1:
            raise HarnessError(f"Intermediate {part!r} is {len(found)} tasks; an intermediate stage is one "
                               f"English task per name (e.g. mnli, squad, or mnli+squad for multi-task).")  # fmt: skip


def parse_model_args(text: str | None, model: str) -> dict[str, str | bool]:
    """``--model-args revision=v1,dtype=bfloat16,attn_implementation=sdpa`` (lm-eval's spelling) as a dict.

    ``trust_remote_code`` stays off unless given as true: it runs the model repository's code.
    """
    args: dict[str, str | bool] = {}
    for item in (p.strip() for p in (text or "").split(",") if p.strip()):
        key, sep, value = (s.strip() for s in item.partition("="))
        if key not in MODEL_ARGS:
            close = difflib.get_close_matches(key, list(MODEL_ARGS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise HarnessError(f"--model-args: unknown key {key!r}.{hint} It takes "
                               + "; ".join(f"{k}: {v}" for k, v in MODEL_ARGS.items()) + ".")  # fmt: skip
        if not sep or not value:
            raise HarnessError(f"--model-args: {key} needs a value ({key}=...: {MODEL_ARGS[key]}).")
        if key == "trust_remote_code":
            if value.lower() not in _BOOLEAN:
                raise HarnessError(f"--model-args: trust_remote_code={value}: give true or false.")
            args[key] = _BOOLEAN[value.lower()]
        elif key == "dtype":
            check_dtype(value, f"--model-args: dtype={value}")
            args[key] = value
        elif key == "attn_implementation" and value not in ATTENTION:
            raise HarnessError(f"--model-args: attn_implementation={value} is not one of {', '.join(ATTENTION)}.")
        else:
            args[key] = value
    if "revision" in args and not is_hub_id(model):
        raise HarnessError(f"--model-args revision={args['revision']}: a revision picks a version of a hub model; "
                           f"--model {model} is not a hub id.")  # fmt: skip
    return args
