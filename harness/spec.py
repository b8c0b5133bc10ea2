"""The task-spec schema: one typed dataclass per kind of YAML file.

Keys follow lm-evaluation-harness where they mean the same thing (``task``,
``tag``, ``dataset_path``, ``dataset_name``, ``dataset_kwargs``, the ``*_split``
keys, ``process_docs``, ``doc_to_text``, ``doc_to_target``, ``doc_to_choice``,
``metric_list``, ``metadata.version``); the rest is what encoder fine-tuning and
zero-shot cross-lingual evaluation need. Unknown keys are errors that name the
file and line, because a silently ignored typo (``doc_to_txt``) costs a GPU day.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import sys
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Literal, get_args, get_origin, get_type_hints

from .errors import SpecError
from .plugins import is_dotted
from .yamlio import FunctionRef, RawSpec

#: keys that say where a split's data comes from (hub dataset, local files and how to read them)
SOURCE_KEYS = (
    "dataset_path",
    "dataset_name",
    "dataset_kwargs",
    "hub_splits",
    "data_files",
    "data_format",
    "data_kwargs",
    "template_vars",
    "data_note",
)

#: the built-in task types; a plugin registers more, and a spec may name one by dotted path or ``!function``
BUILTIN_TASK_TYPES = ("classification", "multiple_choice", "span_qa", "tagging", "retrieval")


def known_task_types() -> list[str]:
    """The built-in task type names and those plugins registered. A plugin that registers one has imported
    ``harness.tasktypes``, so its registry is read only when that is loaded: parsing a spec never imports torch."""
    loaded = sys.modules.get("harness.tasktypes")
    return sorted({*BUILTIN_TASK_TYPES, *(loaded.TASK_TYPES if loaded else ())})


@dataclass
class TrainingDefaults:
    """Per-task fine-tuning defaults (Phang et al. 2020 / XTREME); the CLI overrides them."""

    epochs: float = 3.0
    learning_rate: float = 1e-5
    lora_learning_rate: float = 5e-4
    max_length: int = 256
    batch_size: int = 32
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01


@dataclass
class RetrievalSettings:
    """How a ``retrieval`` task embeds and searches (spec key ``retrieval``; see tasktypes/retrieval.py)."""

    #: hidden-state index to pool (0 = embeddings, -1 = last); None = XTREME-R's depth, 14 of 24 layers
    layer: int | None = None
    pooling: Literal["mean", "cls"] = "mean"
    #: a trained dense+tanh on the pooled vector (XTREME's dual encoders use BERT's pooler)
    projection: bool = False
    #: nearest: Tatoeba accuracy; mine: BUCC margin mining; rank: top-k over a candidate pool (mAP@20)
    search: Literal["nearest", "mine", "rank"] = "nearest"
    #: nearest: the side whose sentences are the queries (XTREME searches with the English side)
    query: Literal["text", "text_pair"] = "text_pair"
    top_k: int = 20
    #: rank: the order of exactly tied candidates: faiss' IndexFlatIP's (Mewsli-X; see search.faiss_order) or
    #: numpy's ``argsort()[::-1]`` (LAReQA's utils_lareqa: the later candidate first)
    ties: Literal["faiss", "numpy"] = "faiss"
    #: rank: the pool's source (data/hub keys overlaid on the task's) and its doc_to_id / doc_to_text
    candidates: dict[str, Any] = field(default_factory=dict)


@dataclass
class TranslatedTraining:
    """Where a task's training split is found in languages other than ``train_language`` (spec key
    ``translate_train``): machine-translated copies such as XNLI-MT or XTREME's translate-train files.

    Only the training split reads it, and only in another language: evaluation splits keep the task's own
    source. Without this block a task trains in another language from its own ``data_files`` pattern
    (PAN-X and UD-POS ship a training file per language).
    """

    #: local file pattern(s) relative to ``--data-dir``, with ``{{ lang }}``
    data_files: Any = None
    data_format: str | None = None  # default: the task's
    data_kwargs: dict[str, Any] | None = None  # default: the task's
    #: the hub dataset that has the translated training split, when one does
    dataset_path: str | None = None
    dataset_name: str | None = None
    dataset_kwargs: dict[str, Any] = field(default_factory=dict)
    hub_split: str = "train"
    process_docs: Any = None  # a !function hook; default: the task's
    #: how to obtain the files (which XTREME script or download writes them); added to missing-file errors
    data_note: str | None = None


@dataclass
class TaskConfig:
    """One task: English training data plus the evaluation data of one language."""

    task: str
    #: a registered name, a dotted path (``mypkg.tasktypes.MyType``) or ``!function module.MyType``
    task_type: str | FunctionRef
    task_alias: str | None = None
    tag: list[str] = field(default_factory=list)
    role: Literal["target", "intermediate"] = "target"
    # languages: ``language`` is evaluated, ``train_language`` fine-tuned on;
    # ``languages`` lists the whole family (read by ``harness tasks generate``).
    language: str = "en"
    train_language: str = "en"
    languages: list[str] = field(default_factory=list)
    # data, from the hub ...
    dataset_path: str | None = None
    dataset_name: str | None = None
    dataset_kwargs: dict[str, Any] = field(default_factory=dict)
    hub_splits: dict[str, str] = field(default_factory=dict)
    # ... or from local files laid out like google-research/xtreme's download/
    data_files: dict[str, Any] = field(default_factory=dict)
    data_format: str | FunctionRef | None = None  # a reader's name, a dotted path or a !function hook
    data_kwargs: dict[str, Any] = field(default_factory=dict)
    #: how to obtain data that no hub has (licensed CCGbank, UD v2.7 languages); added to missing-data errors
    data_note: str | None = None
    #: extra names for the source templates, e.g. ``{iso3: {de: deu}}`` for ``"tatoeba.{{ iso3[lang] }}"``
    template_vars: dict[str, Any] = field(default_factory=dict)
    training_split: str | None = "train"
    validation_split: str | None = "validation"
    test_split: str | None = None
    process_docs: FunctionRef | None = None
    # model inputs, each a column name, a Jinja template or a !function hook
    doc_to_id: Any = None
    doc_to_text: Any = None
    doc_to_text_pair: Any = None
    doc_to_choice: Any = None
    doc_to_target: Any = None
    doc_to_context: Any = None
    doc_to_question: Any = None
    doc_to_tokens: Any = None
    label_list: list[str] = field(default_factory=list)
    #: train on the concatenated training examples of these tasks (same type and labels), e.g. ANLI+
    mixture: list[str] = field(default_factory=list)
    #: label_list is the sorted set of the training split's targets: for label sets that cannot ship with the
    #: spec (CCGbank's ~1.3k supertags come from licensed data)
    labels_from_data: bool = False
    #: span_qa: some questions have no answer (SQuAD v2), so predict "" when the null score beats every span
    allow_no_answer: bool = False
    noise_fields: list[str] = field(default_factory=list)
    metric_list: list[dict[str, Any]] = field(default_factory=list)
    training: TrainingDefaults = field(default_factory=TrainingDefaults)
    # how retrieval tasks embed and search (layer, pooling, candidate pool): not training hyperparameters
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    #: the training split in other languages (``--train-language de``, ``--intermediate mnli@de``)
    translate_train: TranslatedTraining | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    # where the spec came from (not a YAML key)
    source: RawSpec | None = field(default=None, repr=False, compare=False)

    @property
    def version(self) -> Any:
        return self.metadata.get("version", 0)

    def to_dict(self) -> dict[str, Any]:
        """The resolved spec as written into result files: hooks become their source."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "source":
                continue
            out[f.name] = _plain(getattr(self, f.name))
        return out

    def fingerprint(self, exclude: tuple[str, ...] = ()) -> str:
        """What identifies the spec; ``translate_train`` is left out: it shapes neither evaluation nor training
        in ``train_language``, and a translated training's identity holds the source it read instead."""
        data = {k: v for k, v in self.to_dict().items() if k not in exclude and k != "translate_train"}
        return stable_hash(data)


@dataclass
class GroupConfig:
    """A group of tasks (or groups) with an aggregate score, e.g. the mean over languages."""

    group: str
    task: list[str]
    group_alias: str | None = None
    tag: list[str] = field(default_factory=list)
    aggregate_metric_list: list[dict[str, Any]] = field(default_factory=list)
    #: a benchmark's own languages per member family (XTREME and XTREME-R score different language lists of
    #: the same tasks); a member not listed keeps all its languages
    languages: dict[str, list[str]] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    source: RawSpec | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name != "source"}


def _plain(value: Any) -> Any:
    if isinstance(value, FunctionRef):
        return {"!function": value.target, "source": value.source()}
    if isinstance(value, (TrainingDefaults, RetrievalSettings, TranslatedTraining)):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def stable_hash(data: Any, length: int = 16) -> str:
    """A short content hash of JSON-able data, independent of dict order."""
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


def _suggest(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _check_keys(raw: RawSpec, cls: type, kind: str) -> None:
    allowed = [f.name for f in fields(cls) if f.name != "source"]
    for key in raw.data:
        if key not in allowed:
            raise SpecError(
                f"{raw.where(key)}: unknown key {key!r} in {kind} file.{_suggest(key, allowed)} "
                f"Allowed keys: {', '.join(allowed)}."
            )
    for f in fields(cls):
        if (
            f.default is MISSING
            and f.default_factory is MISSING
            and f.name != "source"
            and raw.data.get(f.name) is None
        ):
            raise SpecError(f"{raw.path}: required key {f.name!r} is missing from this {kind} file.")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _nested(raw: RawSpec, value: Any, key: str, cls: type) -> Any:
    """A nested settings block (``training:``, ``retrieval:``) as its dataclass; unknown keys are errors."""
    value = value or {}
    known = sorted(f.name for f in fields(cls))
    hints = get_type_hints(cls)
    for name, given in value.items():
        if name not in known:
            raise SpecError(
                f"{raw.where(key)}: unknown key {key}.{name}.{_suggest(name, known)} Allowed: {', '.join(known)}."
            )
        choices = get_args(hints[name]) if get_origin(hints[name]) is Literal else ()
        if choices and given not in choices:
            raise SpecError(f"{raw.where(key)}: {key}.{name} must be one of {', '.join(choices)}, not {given!r}.")
    return cls(**value)


def parse_task(raw: RawSpec) -> TaskConfig:
    """Validate a resolved YAML mapping as a task spec."""
    _check_keys(raw, TaskConfig, "task")
    data = dict(raw.data)
    task_type = data["task_type"]
    if not isinstance(task_type, FunctionRef) and not (
        isinstance(task_type, str) and (is_dotted(task_type) or task_type in known_task_types())
    ):
        raise SpecError(
            f"{raw.where('task_type')}: task_type {task_type!r} is not one of {', '.join(known_task_types())}. "
            f"A task type of your own: register it in a module loaded with --plugin MODULE (or a plugins.py beside "
            f"your YAMLs), or name it by dotted path (mypkg.tasktypes.MyType) or !function file.MyType."
        )
    if data.get("role", "target") not in ("target", "intermediate"):
        raise SpecError(f"{raw.where('role')}: role must be 'target' or 'intermediate', not {data['role']!r}.")
    training = _nested(raw, data.pop("training", None), "training", TrainingDefaults)
    retrieval = _nested(raw, data.pop("retrieval", None), "retrieval", RetrievalSettings)
    if data.get("translate_train") is not None:
        data["translate_train"] = _nested(raw, data["translate_train"], "translate_train", TranslatedTraining)
        if data["translate_train"].data_files is None and data["translate_train"].dataset_path is None:
            raise SpecError(f"{raw.where('translate_train')}: translate_train needs data_files or dataset_path.")
    if "label_list" in data and data["label_list"] is not None and not isinstance(data["label_list"], list):
        raise SpecError(
            f"{raw.where('label_list')}: label_list must be a list of labels, e.g. label_list: [neg, pos]; "
            f"got {data['label_list']!r}."
        )
    data["tag"] = _as_list(data.get("tag"))
    data["languages"] = [str(x) for x in _as_list(data.get("languages"))]
    data["noise_fields"] = _as_list(data.get("noise_fields"))
    data["mixture"] = _as_list(data.get("mixture"))
    if data.get("process_docs") is not None and not isinstance(data["process_docs"], FunctionRef):
        raise SpecError(f"{raw.where('process_docs')}: process_docs takes a hook: process_docs: !function utils.name")
    for entry in data.get("metric_list") or []:
        if not isinstance(entry, dict) or "metric" not in entry:
            raise SpecError(f"{raw.where('metric_list')}: each metric_list entry needs a 'metric:' name.")
    data = {k: v for k, v in data.items() if v is not None or k in ("test_split", "training_split", "validation_split")}
    return TaskConfig(**data, training=training, retrieval=retrieval, source=raw)


def parse_group(raw: RawSpec) -> GroupConfig:
    """Validate a resolved YAML mapping as a group spec."""
    _check_keys(raw, GroupConfig, "group")
    data = dict(raw.data)
    data["task"] = [str(t) for t in _as_list(data["task"])]
    data["tag"] = _as_list(data.get("tag"))
    languages = data.get("languages") or {}
    if not isinstance(languages, dict) or any(m not in data["task"] for m in languages):
        raise SpecError(f"{raw.where('languages')}: languages maps member names of this group (one of "
                        f"{', '.join(data['task'])}) to the language codes the group scores.")  # fmt: skip
    data["languages"] = {str(m): [str(x) for x in _as_list(v)] for m, v in languages.items()}
    data = {k: v for k, v in data.items() if v is not None}
    return GroupConfig(**data, source=raw)
