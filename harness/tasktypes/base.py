"""The ``TaskType`` interface and the task-type registry, apart from the package's ``__init__`` (which imports
the built-in types to register them), so that a task-type module imports them without importing the package
that imports it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import torch
from torch import nn

from ..plugins import Registry
from ..spec import TaskConfig

if TYPE_CHECKING:
    from .context import PredictionContext


def _instance(obj: Any) -> TaskType[Any]:
    """A task type named by dotted path or ``!function``: its class (instantiated once) or an instance."""
    if isinstance(obj, type) and issubclass(obj, TaskType):
        return obj()
    if isinstance(obj, TaskType):
        return obj
    raise TypeError("a task type is a subclass of harness.tasktypes.TaskType")


#: the task types a spec's ``task_type`` names; a plugin adds one with ``@register_task_type``
TASK_TYPES: Registry[TaskType[Any]] = Registry("task_type", convert=_instance)


def register_task_type(cls: type[TaskType[Any]]) -> type[TaskType[Any]]:
    TASK_TYPES.add(cls.name, cls(), defined_by=cls)
    return cls


def get_task_type(name: Any, where: str = "") -> TaskType[Any]:
    """The task type a spec names: a registered name, a dotted path or a ``!function`` hook."""
    return TASK_TYPES.resolve(name, where)


#: what a type's ``forward`` returns and its ``loss``, ``outputs`` and ``scores`` take: logits for most types,
#: both sides' embeddings for retrieval
Logits = TypeVar("Logits")


class TaskType(Generic[Logits]):
    """The per-type half of the pipeline; subclasses fill in the hooks."""

    name: ClassVar[str]
    #: example field -> whether the spec must provide it (``doc_to_<field>``)
    fields: ClassVar[dict[str, bool]]
    #: fields a noise wrapper may touch unless the spec says otherwise
    noise_fields: ClassVar[tuple[str, ...]] = ()
    #: metrics used when the spec has no ``metric_list``
    default_metrics: ClassVar[tuple[str, ...]]
    #: whether the task has a trained head (retrieval reads the encoder directly)
    trainable: ClassVar[bool] = True
    #: whether K models can share one mixed-adapter forward pass (not when predictions re-run the model on
    #: data outside the batch, as retrieval does on its candidate pool)
    mixable: ClassVar[bool] = True
    #: bump when ``encode`` changes, so cached features are not reused
    version: ClassVar[int] = 1

    def prepare(self, cfg: TaskConfig, example: dict[str, Any]) -> dict[str, Any]:
        """Check and normalise one rendered example (e.g. turn a label name into an index)."""
        return example

    def encode(
        self, examples: list[dict[str, Any]], tokenizer: Any, max_length: int, cfg: TaskConfig
    ) -> dict[str, list[Any]]:
        """Tokenise examples into feature columns; ``example_index`` links each feature to its example."""
        raise NotImplementedError

    def collate(self, rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def make_head(self, hidden_size: int, cfg: TaskConfig) -> nn.Module | None:
        raise NotImplementedError

    def forward(self, encoder: nn.Module, head: nn.Module | None, batch: dict[str, torch.Tensor]) -> Logits:
        raise NotImplementedError

    def loss(self, logits: Logits, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def outputs(self, logits: Logits, batch: dict[str, torch.Tensor]) -> list[Any]:
        """Per-feature outputs moved to the CPU (kept small: argmax, top-k spans, ...)."""
        raise NotImplementedError

    def scores(self, logits: Logits, batch: dict[str, torch.Tensor]) -> list[Any]:
        """Per-feature scores for the model-query interface (``harness.query``): probabilities where the
        type has classes; by default the outputs, when they already are scores (span QA's n-best logits)."""
        return self.outputs(logits, batch)

    def predict(self, outputs: list[Any], features: Any, examples: list[dict[str, Any]], cfg: TaskConfig) -> list[Any]:
        """Fold per-feature outputs into one prediction per example."""
        raise NotImplementedError

    def predict_in_context(
        self, context: PredictionContext, outputs: list[Any], features: Any, examples: list[dict[str, Any]]
    ) -> list[Any]:
        """``predict`` for types that need the model or more data to decide (retrieval embeds a candidate
        pool, or a dev split to tune a threshold on); by default just ``predict``."""
        return self.predict(outputs, features, examples, context.task.cfg)

    def pools_split(self, cfg: TaskConfig) -> bool:
        """Whether each example is searched for among the split's other examples (Tatoeba, BUCC), so that a
        sample of the split must keep the whole split as its pool."""
        return False

    def scored_inputs(self, examples: list[dict[str, Any]], cfg: TaskConfig) -> list[dict[str, Any]]:
        """The examples as evaluation feeds them to the model: by default as they are."""
        return examples

    def reference(self, example: dict[str, Any]) -> Any:
        """The gold answer the metrics compare a prediction with."""
        return example["target"]

    def scorable(self, examples: list[dict[str, Any]], cfg: TaskConfig) -> bool:
        """Whether the metrics have a gold answer to compare with in any of ``examples``: not when a download
        blanked them (XTREME's TyDiQA dev files) or a split has no labels, so that nothing is trained for
        scores that cannot exist."""
        return any(self.reference(e) not in (None, "", []) for e in examples)

    def correct(self, reference: Any, prediction: Any) -> bool:
        """Whether one prediction is right, for the samples file (span QA: exact match after normalisation); both
        as ``show`` writes them, so that the stored predictions file answers it without the model."""
        return bool(reference == prediction)

    def show(self, prediction: Any, cfg: TaskConfig) -> Any:
        """A prediction (or gold answer) as written to files: label names rather than indices."""
        return prediction

    def export(self, rows: list[dict[str, Any]]) -> tuple[str, str, str]:
        """``(suffix, predictions, gold)`` file texts in google-research/xtreme's ``evaluate.py`` layout.

        ``rows`` are the shown ``prediction`` and ``reference`` of each example, in
        order. The default is evaluate.py's ``read_label`` format: one per line.
        Raises ``ExportRefused`` (saying why) for what evaluate.py could not read.
        """
        return "tsv", "".join(f"{r['prediction']}\n" for r in rows), "".join(f"{r['reference']}\n" for r in rows)


def pad(seqs: list[list[int]], value: int) -> torch.Tensor:
    """Right-pad integer sequences to the longest one (dynamic padding per batch)."""
    width = max(len(s) for s in seqs)
    out = torch.full((len(seqs), width), value, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out
