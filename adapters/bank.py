"""Trained models on demand: reused from the store when the same training was done before, else trained and stored.

Every model a run evaluates is a *stage* on the base encoder, trained on top of
another stage: the bare base (``none``), an intermediate stage (MNLI, SQuAD, a
multi-task set), or an intermediate plus a target stage. With LoRA each stage is
one adapter on the single resident base and evaluation only switches which
adapters are active; with full fine-tuning each stage is a checkpoint of its
own, initialised from the stage below (Phang et al.'s recipe). Heads are stored
apart from the adapter, so an intermediate adapter serves under any target
head, one per training job under the job's training identity: every family
trained on the same data (XQuAD and MLQA on SQuAD) finds the same head, whichever
of them led the job that trained it.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from harness import __version__
from harness.config import NO_INTERMEDIATE, RunConfig
from harness.errors import HarnessError
from harness.features import featurize
from harness.mlm import MaskedLM, MlmMix, load_lm_head, mlm_features
from harness.models import Base, BaseId, load_encoder
from harness.planning import TrainingJob, train_args
from harness.spec import stable_hash
from harness.training import Stream, TaskModel, TrainArgs, train

from .lora import STACKS, LoraHost, lora_config
from .store import ArtefactStore, StoreError

if TYPE_CHECKING:
    from transformers import PreTrainedModel

#: scores a newly trained stage on its dev data: family -> metric -> value
DevScorer = Callable[["Trained"], dict[str, dict[str, float]]]


@dataclass
class Trained:
    """A model ready to evaluate: which adapters (LoRA) or which encoder (full), and its heads."""

    key: str
    role: str  # base | intermediate | target | zero-shot
    heads: dict[str, nn.Module | None] = field(default_factory=dict)  # family -> head (families may share one)
    adapters: list[str] = field(default_factory=list)  # LoRA adapters active when this model runs
    host: LoraHost | None = None  # where those adapters live (the resident base, or a merged copy of it)
    encoder: PreTrainedModel | None = None  # full fine-tuning: the stage's own encoder
    info: dict[str, Any] = field(default_factory=dict)  # what result records say about the model

    def encoder_module(self, base: Base) -> nn.Module:
        if self.host is not None:
            return self.host.activate(self.adapters)
        return self.encoder if self.encoder is not None else base.encoder

    def model(self, family: str, task_type: Any, base: Base) -> TaskModel:
        return TaskModel(self.encoder_module(base), self.heads.get(family), task_type)

    def modules(self, base: Base) -> list[nn.Module]:
        """Every module this model's forward passes read: its encoder (with all adapters) and its heads."""
        if self.host is not None:
            encoder = self.host.peft if self.host.peft is not None else self.host.base
        else:
            encoder = self.encoder if self.encoder is not None else base.encoder
        return [encoder, *(head for head in self.heads.values() if head is not None)]


def stack_of(config: RunConfig, on_top_key: str | None) -> str | None:
    """How a stage sits on the one below: a LoRA stack strategy, "sequential" (full), or None (on the base)."""
    if on_top_key is None:
        return None
    return config.stack if config.method == "lora" else "sequential"


def stage_spec(base: BaseId, config: RunConfig, jobs: list[TrainingJob], on_top_key: str | None) -> dict[str, Any]:
    """Everything that determines a stage's weights; its hash is the stage's key in the store.

    A function of the base's identity, not of its weights, so that a grid is planned (and ``--dry-run`` says what
    is done) without loading the model.
    """
    return {
        "base": base.fingerprint,
        "method": config.method,
        "on_top": on_top_key,
        "stack": stack_of(config, on_top_key),
        "lora": [config.lora_rank, config.lora_alpha, sorted(config.target_modules)]
        if config.method == "lora"
        else None,
        "temperature": config.temperature if len(jobs) > 1 else None,
        # only when set, so that the keys of stages without masked-LM batches stay as they were
        **({"mlm": jobs[0].mlm.identity()} if jobs[0].mlm else {}),
        "jobs": [
            {
                "task": job.lead.training_identity(job.split),
                "split": job.split,
                "selection": [job.selection.holdout, job.selection.limit, job.selection.seed],
                "examples": stable_hash(job.training_examples),
                # only when set, so that the keys of models trained on clean data stay as they were
                **({"train_noise": [config.train_noise, config.noise_seed]} if job.noisy_examples is not None else {}),
                "args": train_args(job.lead, base, config).to_dict(),
            }
            for job in jobs
        ],
    }


def stage_key(base: BaseId, config: RunConfig, jobs: list[TrainingJob], on_top_key: str | None) -> str:
    """The store key of the stage trained on ``jobs`` on top of ``on_top_key``; tasks with nothing to train
    (retrieval) read the stage below as it is, under a key of their own."""
    if not jobs[0].trainable:
        return zero_shot_key(base, jobs[0], on_top_key)
    return stable_hash(stage_spec(base, config, jobs, on_top_key), 20)


def zero_shot_key(base: BaseId, job: TrainingJob, on_top_key: str | None) -> str:
    return stable_hash({"zero-shot": job.lead.training_identity(), "on": on_top_key, "base": base.fingerprint})


class ModelBank:
    """Obtains the trained stages of a run; the base encoder is loaded once and never reloaded."""

    def __init__(
        self,
        base: Base,
        store: ArtefactStore,
        config: RunConfig,
        device: torch.device,
        dtype: torch.dtype,
        say: Callable[[str], None],
        progress: Callable[[], Any],
        host: LoraHost | None = None,
    ) -> None:
        """``host``: the LoRA host already wrapping ``base`` in this process, shared by every run on it."""
        if config.stack not in STACKS:
            raise HarnessError(f"--stack {config.stack!r} is not one of {', '.join(STACKS)}.")
        self.base, self.store, self.config = base, store, config
        self.device, self.dtype, self.say, self.progress = device, dtype, say, progress
        self.host = None if config.method != "lora" else host if host is not None else LoraHost(base.encoder)

    # -- the stages below a target --------------------------------------------------------------

    def bare(self) -> Trained:
        """The starting point: the base encoder as loaded (with every adapter switched off)."""
        return Trained(NO_INTERMEDIATE, "base", host=self.host, info={"key": None})

    def stored(self, key: str) -> Trained:
        """An intermediate stage trained elsewhere (``--intermediate @KEY``, imported with ``adapters import``)."""
        meta = self.store.load_meta(key, self.base.fingerprint)
        if meta.get("role") != "intermediate":
            raise StoreError(
                f"Artefact {key} is a {meta.get('role')} model with its own trained {', '.join(meta.get('tasks', []))} "
                f"head; stacking a target on it would train a second head on top of a trained one. Use an "
                f"intermediate adapter (`harness train --task ...`) or the target task's own training."
            )
        if meta.get("method") != self.config.method:
            raise StoreError(
                f"Artefact {key} is a {meta.get('method')} model; this run uses --method "
                f"{self.config.method}. Pass --method {meta.get('method')}."
            )
        return self._load(key, [], self.bare(), "intermediate", meta)

    def obtain(self, jobs: list[TrainingJob], on_top: Trained, role: str, dev: DevScorer | None = None) -> Trained:
        """The model trained on ``jobs`` (one task, or several for multi-task) on top of ``on_top``.

        Trained at most once across every process sharing the store: while another one trains it, this waits.
        ``dev`` scores a newly trained model on its dev data before it is stored, so that its
        ``dev_metrics`` are saved with it.
        """
        if not jobs[0].trainable:
            return self.zero_shot(jobs[0], on_top)
        spec = stage_spec(self.base, self.config, jobs, on_top.info.get("key"))
        key = stable_hash(spec, 20)
        if not self.store.has(key):
            with self.store.claim(key, self.say):
                if not self.store.has(key):
                    return self._train(key, spec, jobs, on_top, role, dev)
        return self._load(key, jobs, on_top, role, self.store.load_meta(key, self.base.fingerprint))

    def zero_shot(self, job: TrainingJob, on_top: Trained) -> Trained:
        """Tasks with nothing to train (Tatoeba, BUCC) read the stage below as it is, as Phang et al. did."""
        torch.manual_seed(self.config.seed)
        head = job.lead.type.make_head(self.base.hidden_size, job.lead.cfg)
        key = zero_shot_key(self.base, job, on_top.info.get("key"))
        info = {
            "key": key,
            "intermediate_key": on_top.info.get("key"),
            "reused": False,
            "train_split": None,
            "args": train_args(job.lead, self.base, self.config).to_dict(),
            "note": job.note,
        }
        heads = {task.family: head for task in job.tasks}
        return Trained(key, "zero-shot", heads, on_top.adapters, on_top.host, on_top.encoder, info)

    # -- internals --------------------------------------------------------------------------------

    def _stack(self, on_top: Trained) -> str | None:
        return stack_of(self.config, on_top.info.get("key"))

    def _heads(self, jobs: list[TrainingJob]) -> dict[str, nn.Module | None]:
        """A fresh head per job (by its head name), seeded so that training starts the same every time."""
        torch.manual_seed(self.config.seed)
        return {job.head_name: job.lead.type.make_head(self.base.hidden_size, job.lead.cfg) for job in jobs}

    @staticmethod
    def _by_family(jobs: list[TrainingJob], heads: dict[str, nn.Module | None]) -> dict[str, nn.Module | None]:
        """Each family of each job -> that job's head (XQuAD and MLQA -> the one head trained on SQuAD)."""
        return {task.family: heads[job.head_name] for job in jobs for task in job.tasks}

    def _place(self, key: str, on_top: Trained, adapter: Path | None = None) -> tuple[LoraHost, list[str]]:
        """Put adapter ``key`` on its host, new (``adapter`` None) or loaded, per the stack strategy."""
        assert self.host is not None
        stack, host, below = self._stack(on_top), self.host, on_top.adapters
        if stack == "merge":  # the stage below folded into a copy of the base (parity with full fine-tuning)
            assert on_top.host is not None, "a stage stacked on LoRA adapters has their host"
            host, below = LoraHost(on_top.host.merged_copy(below)), []
        elif stack == "continue":
            if len(below) != 1:
                raise HarnessError(
                    f"--stack continue starts the target from one intermediate adapter; {on_top.key} has {len(below)}."
                )
        if adapter is not None:
            host.load(key, adapter)
        else:
            config = lora_config(
                self.config.lora_rank, self.config.lora_alpha, target_modules=self.config.target_modules
            )
            host.add(key, config, init_from=below[0] if stack == "continue" else None)
        return host, ([*below, key] if stack == "frozen" else [key])

    def _train(self, key: str, spec: dict[str, Any], jobs: list[TrainingJob], on_top: Trained, role: str,
               dev: DevScorer | None) -> Trained:  # fmt: skip
        config, base, started = self.config, self.base, time.perf_counter()
        heads = self._heads(jobs)
        encoder: PreTrainedModel | None = None
        host: LoraHost | None = None
        adapters: list[str] = []
        if self.host is not None:
            host, adapters = self._place(key, on_top)
            module = host.activate(adapters, train=key)
        else:
            encoder = copy.deepcopy(on_top.encoder if on_top.encoder is not None else base.encoder)
            encoder.requires_grad_(True)
            module = encoder
        streams = []
        for job in jobs:
            task, args = job.lead, train_args(job.lead, base, config)
            features = featurize(task.type, job.training_examples, base.tokenizer, args.max_length, task.cfg)
            streams.append(Stream(TaskModel(module, heads[job.head_name], task.type), features))
        args = train_args(jobs[0].lead, base, config)  # multi-task: the first task's optimiser settings
        if jobs[0].mlm:
            streams.append(self._mlm_stream(jobs[0].mlm, module, host.base if host else encoder, args))
        name = "+".join(job.family for job in jobs)
        with self.progress() as progress:
            bar = progress.add_task(f"train {name} ({config.method})", total=None)
            stats = train(
                streams,
                args,
                self.device,
                self.dtype,
                base.tokenizer.pad_token_id,
                config.temperature,
                on_step=lambda s, n, loss: progress.update(
                    bar, completed=s, total=n, description=f"train {name} loss {loss:.3f}"
                ),
            )
        meta = {
            "spec": spec,
            "role": role,
            "method": config.method,
            "seed": config.seed,
            "tasks": [job.family for job in jobs],
            "heads": {job.head_name: sorted({t.family for t in job.tasks}) for job in jobs},  # file -> families
            "task_types": sorted({job.lead.type.name for job in jobs}),
            "versions": {job.family: job.lead.cfg.version for job in jobs},
            "base_model": base.name,
            "base_fingerprint": base.fingerprint,
            "intermediate": on_top.info.get("key"),
            "stack": self._stack(on_top),
            "train_stats": stats,
            **({"mlm": jobs[0].mlm.describe()} if jobs[0].mlm else {}),
            "harness_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        self.say(
            f"[green]{name}[/]: trained {config.method} {role} model {key} in {stats['seconds']:.1f}s "
            f"({stats['steps']} steps on {stats['examples']} examples, loss {stats['first_loss']:.3f} → "
            f"{stats['final_loss']:.3f})"
        )
        info = self._info(key, jobs, on_top, meta, reused=False, seconds=time.perf_counter() - started)
        trained = Trained(key, role, self._by_family(jobs, heads), adapters, host, encoder, info)
        if dev is not None:
            meta["dev_metrics"] = dev(trained)
        self.store.save(key, meta, lambda folder: self._write(folder, key, heads, host, encoder))
        return trained

    def _mlm_stream(self, mix: MlmMix, module: nn.Module, encoder: PreTrainedModel, args: TrainArgs) -> Stream:
        """Masked-LM batches on the stage's encoder, through the base model's own lm_head (tied to ``encoder``'s
        input embeddings, which LoRA leaves frozen and full fine-tuning trains)."""
        head = load_lm_head(self.base.path, encoder.get_input_embeddings())
        features = mlm_features(mix.corpus, self.base.tokenizer, args.max_length)
        objective = MaskedLM(self.base.tokenizer, mix.rate, self.config.seed)
        return Stream(TaskModel(module, head, objective), features, ratio=mix.ratio, name="mlm")

    def _write(
        self,
        folder: Path,
        key: str,
        heads: dict[str, nn.Module | None],
        host: LoraHost | None,
        encoder: PreTrainedModel | None,
    ) -> None:
        if host is not None:
            host.save(key, folder / "adapter")
        else:
            assert encoder is not None
            encoder.save_pretrained(folder / "encoder")
        (folder / "heads").mkdir()
        for name, head in heads.items():
            if head is not None and head.state_dict():
                state = {k: v.contiguous() for k, v in head.state_dict().items()}
                save_file(state, str(folder / "heads" / f"{name}.safetensors"))

    def _load(self, key: str, jobs: list[TrainingJob], on_top: Trained, role: str, meta: dict[str, Any]) -> Trained:
        started, folder = time.perf_counter(), self.store.path(key)
        heads = self._heads(jobs)
        for job in jobs:
            head = heads[job.head_name]
            if head is not None and head.state_dict():
                head.load_state_dict(load_file(str(self._head_file(key, job))))
        encoder, host, adapters = None, None, [key]
        if self.host is not None:
            if not (folder / "adapter").is_dir():
                raise StoreError(f"Artefact {key} holds no LoRA adapter (it is a {meta.get('method')} model).")
            host, adapters = self._place(key, on_top, folder / "adapter")
        else:
            if not (folder / "encoder").is_dir():
                raise StoreError(f"Artefact {key} holds no full checkpoint (it is a {meta.get('method')} model).")
            encoder = load_encoder(str(folder / "encoder"), self.config.model_args)
        info = self._info(key, jobs, on_top, meta, reused=True, seconds=time.perf_counter() - started)
        self.say(
            f"[green]{'+'.join(meta.get('tasks', []))}[/]: reused {meta.get('method')} {meta.get('role')} model "
            f"{key} ({info['seconds']:.1f}s; trained {meta.get('created', '?')} in "
            f"{meta.get('train_stats', {}).get('seconds', '?')}s)"
        )
        return Trained(key, role, self._by_family(jobs, heads), adapters, host, encoder, info)

    def _head_file(self, key: str, job: TrainingJob) -> Path:
        """Where artefact ``key`` keeps ``job``'s head; artefacts saved before heads were named by training
        identity keep it under the family that led the job."""
        heads = self.store.path(key) / "heads"
        for name in (job.head_name, job.family):
            if (heads / f"{name}.safetensors").is_file():
                return heads / f"{name}.safetensors"
        raise StoreError(
            f"Artefact {key} in {self.store.root} holds no head for {job.family} (looked for "
            f"heads/{job.head_name}.safetensors); it was saved by an older harness for another task of the same "
            f"training data. Remove it with `harness adapters rm {key}` and run again to retrain."
        )

    def _info(self, key: str, jobs: list[TrainingJob], on_top: Trained, meta: dict[str, Any], **extra: Any) -> dict:
        args = train_args(jobs[0].lead, self.base, self.config).to_dict() if jobs else meta.get("spec", {})
        return {
            "key": key,
            "intermediate_key": on_top.info.get("key"),
            "stack": self._stack(on_top),
            "args": args,
            "train_split": jobs[0].split if jobs else None,
            "note": jobs[0].note if jobs else "",
            "train_stats": meta.get("train_stats"),
            **extra,
        }
