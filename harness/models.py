"""The base encoder: loaded once per run from the hub, a local folder, or the ``tiny`` smoke preset.

Task heads are not part of the base (see ``tasktypes``): one resident encoder
serves every task, adapter and head of a run.

``tiny`` builds a small XLM-R-architecture model (with its masked-LM head) with random weights and a
SentencePiece-style Unigram tokenizer trained on a fixed multilingual sample
shipped with the package (``tiny_corpus/``: Tatoeba sentences in 41 languages),
saves both and loads them back through the same ``from_pretrained`` path a hub
model takes. The corpus is fixed, not the run's task text, so every process of
a grid builds the same base (cached per machine by the corpus hash) whatever
subset of the tasks it runs. It runs anywhere in minutes; its numbers say the
pipeline works, not how good XLM-R is, and every table labels them as a smoke
model.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from .errors import ModelError
from .hub import DTYPES, SMOKE_PRESETS, check_dtype, check_model_name, names_a_folder
from .paths import cache_root, folder_fingerprint, write_folder_atomic
from .spec import stable_hash

if TYPE_CHECKING:  # transformers is imported where a model is loaded, not on every start
    from transformers import PreTrainedModel

TINY_VERSION = 3  # 3: saved with a masked-LM head (lm_head), which +mlm stages train with
TINY_CORPUS = Path(__file__).resolve().parent / "tiny_corpus" / "tatoeba_sample.txt"


@dataclass(frozen=True)
class TinySize:
    hidden_size: int = 64
    layers: int = 2
    heads: int = 4
    vocab_size: int = 8000
    max_corpus_lines: int = 30000


@dataclass(frozen=True)
class BaseId:
    """What identifies a base encoder, known without loading its weights (planning needs only this)."""

    name: str
    path: str
    fingerprint: str
    smoke: bool
    #: hyperparameters the preset needs instead of XLM-R Large's (a random tiny model wants a high lr)
    training_overrides: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.name} (smoke model)" if self.smoke else self.name


@dataclass(frozen=True)
class Base(BaseId):
    """A loaded base encoder and its tokenizer, with what identifies them."""

    encoder: PreTrainedModel
    tokenizer: Any

    @property
    def hidden_size(self) -> int:
        return int(self.encoder.config.hidden_size)


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """A hash of the tokenizer's full serialisation, computed once per tokenizer object."""
    cached = getattr(tokenizer, "_harness_fingerprint", None)
    if cached is None:
        backend = getattr(tokenizer, "backend_tokenizer", None)
        blob = backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))
        cached = stable_hash([type(tokenizer).__name__, blob], 16)
        tokenizer._harness_fingerprint = cached
    return cached


def quiet_transformers() -> None:
    """Silence load reports and download bars; the harness shows its own progress."""
    import datasets
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    logging.getLogger("peft").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)  # peft 0.21
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def resolve_device(spec: str = "auto") -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise ModelError(f"--device {spec!r} is not a device; use auto, cpu, cuda or cuda:N.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(
            f"--device {spec} asked for a GPU, but torch sees none (torch {torch.__version__}). Use --device cpu."
        )
    return device


def resolve_dtype(spec: str, device: torch.device) -> torch.dtype:
    """``auto``: bf16 autocast on a GPU that supports it, fp32 elsewhere."""
    if spec == "auto":
        return torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    check_dtype(spec, f"--dtype {spec!r}", ModelError)
    return getattr(torch, DTYPES[spec])


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """Mixed precision with fp32 master weights; a no-op for fp32."""
    if dtype == torch.float32:
        yield
    else:
        with torch.autocast(device_type=device.type, dtype=dtype):
            yield


@contextlib.contextmanager
def evaluation_weights(modules: Iterable[nn.Module], device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """Inside the block, every ``nn.Linear`` weight and bias of ``modules`` is stored in ``dtype`` on ``device``.

    Under bf16 (or fp16) autocast a Linear layer casts its fp32 weight and bias to
    ``dtype`` on every call: for XLM-R Large about 300M weights read and written
    again per forward pass, only to get the same values. Cast once for the whole
    evaluation instead, the layers get those values from storage (autocast leaves
    a tensor already in its dtype alone), so every output is bit for bit the one
    fp32 weights under autocast give; everything autocast keeps in fp32
    (embeddings, LayerNorm, softmax) stays fp32. The fp32 tensors are kept and put
    back on exit, so training always steps its fp32 master weights, also in a
    process that evaluates between training runs; the price is the memory of the
    ``dtype`` copy (half the Linear weights) while inside. With fp32 (the CPU's
    default) nothing changes. LoRA layers are Linear layers too: their A and B
    are cast with the base.
    """
    kept: list[tuple[torch.Tensor, torch.Tensor]] = []
    if dtype != torch.float32:
        seen: set[int] = set()
        for module in modules:
            module.to(device)
            for layer in module.modules():
                if not isinstance(layer, nn.Linear):
                    continue
                for param in (layer.weight, layer.bias):
                    if param is not None and param.dtype == torch.float32 and id(param) not in seen:
                        seen.add(id(param))
                        kept.append((param, param.data))
                        param.data = param.data.to(dtype)
    try:
        yield
    finally:
        for param, data in kept:
            param.data = data


def load_encoder(path: str, model_args: dict[str, Any] | None = None) -> PreTrainedModel:
    """``model_args``: ``--model-args`` (revision, attn_implementation, trust_remote_code); sdpa attention unless
    they say otherwise."""
    from transformers import AutoModel

    kwargs = {"attn_implementation": "sdpa", **(model_args or {})}
    try:
        return AutoModel.from_pretrained(path, add_pooling_layer=False, **kwargs)
    except TypeError:  # architectures without a pooler flag
        return AutoModel.from_pretrained(path, **kwargs)


def _source_args(model_args: dict[str, Any] | None) -> dict[str, Any]:
    """What of ``--model-args`` says which files are read: the revision, and whether their code may run."""
    return {k: v for k, v in (model_args or {}).items() if k in ("revision", "trust_remote_code")}


def identify_base(name: str, tiny: TinySize = TinySize(), model_args: dict[str, Any] | None = None) -> BaseId:
    """The base's identity: a content hash of a local folder (the tiny preset is built, once per machine, first),
    else the hub id at its resolved revision (reads only the config)."""
    smoke = name in SMOKE_PRESETS
    path = str(build_tiny(TINY_CORPUS.read_text(encoding="utf-8").splitlines(), tiny)) if smoke else name
    check_model_name(name)
    path = str(Path(path).expanduser()) if names_a_folder(path) else path
    if Path(path).is_dir():
        fingerprint = folder_fingerprint(Path(path))
    else:
        from transformers import AutoConfig

        try:
            config = AutoConfig.from_pretrained(path, **_source_args(model_args))
        except (OSError, ValueError) as exc:
            raise _load_error(name, exc) from None
        fingerprint = f"{name}@{getattr(config, '_commit_hash', None) or 'unknown-revision'}"
    overrides = {"learning_rate": 1e-3, "lora_learning_rate": 3e-3, "epochs": 4.0, "max_length": 128} if smoke else {}
    return BaseId(name, path, fingerprint, smoke, overrides)


def load_base(name: str, tiny: TinySize = TinySize(), model_args: dict[str, Any] | None = None) -> Base:
    """Load ``name``: a hub id, a local folder, or ``tiny`` (built from the shipped corpus)."""
    from safetensors import SafetensorError
    from transformers import AutoTokenizer

    base = identify_base(name, tiny, model_args)
    try:
        tokenizer = AutoTokenizer.from_pretrained(base.path, **_source_args(model_args))
        encoder = load_encoder(base.path, model_args)
    except SafetensorError as exc:
        raise ModelError(
            f"Could not load model {name!r}: its weights file is damaged or cut short ({exc}). Copy or download "
            f"the model again."
        ) from None
    except (OSError, ValueError) as exc:
        raise _load_error(name, exc) from None
    return Base(**vars(base), encoder=encoder, tokenizer=tokenizer)


def _load_error(name: str, exc: Exception) -> ModelError:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return ModelError(
        f"Could not load model {name!r}: {reason}. --model takes a hub id (needs network, or the model "
        f"already in the HF cache, HF_HOME), a local folder with config.json, weights and tokenizer files "
        f"(as save_pretrained writes them), or the offline smoke preset 'tiny'."
    )


def build_tiny(corpus: list[str], size: TinySize = TinySize(), seed: int = 0) -> Path:
    """Build (or reuse, by corpus hash) the tiny preset; returns its folder."""
    from tokenizers import trainers
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM, XLMRobertaModel, XLMRobertaTokenizer

    lines = sorted({line.strip() for line in corpus if line and line.strip()})
    if not lines:
        raise ModelError("The tiny preset needs text to train its tokenizer, and got none.")
    if len(lines) > size.max_corpus_lines:
        lines = sorted(random.Random(seed).sample(lines, size.max_corpus_lines))
    key = stable_hash([TINY_VERSION, size.__dict__, seed, stable_hash(lines, 32)])
    out = cache_root() / "tiny" / key
    if (out / "config.json").exists():
        return out

    tokenizer = XLMRobertaTokenizer()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    trainer = trainers.UnigramTrainer(
        vocab_size=size.vocab_size, special_tokens=specials, unk_token="<unk>", show_progress=False
    )
    tokenizer._tokenizer.train_from_iterator(lines, trainer)
    vocab = _canonical_vocab(_unigram_vocab(tokenizer), specials)
    tokenizer = XLMRobertaTokenizer(vocab=vocab, model_max_length=512)

    torch.manual_seed(seed)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=size.hidden_size,
        num_hidden_layers=size.layers,
        num_attention_heads=size.heads,
        intermediate_size=size.hidden_size * 4,
        max_position_embeddings=514,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    encoder = XLMRobertaModel(config, add_pooling_layer=False)  # drawn first: the encoder preset 2 had
    model = XLMRobertaForMaskedLM(config)  # plus XLM-R's lm_head, as xlm-roberta-large ships one
    model.roberta = encoder
    model.tie_weights()

    def fill(tmp: Path) -> None:
        tokenizer.save_pretrained(tmp)
        model.save_pretrained(tmp)

    return write_folder_atomic(out, fill)


def _canonical_vocab(vocab: list[list[Any]], specials: list[str]) -> list[tuple[str, float]]:
    """The trained pieces in an order and precision that do not depend on the process.

    The Unigram trainer's output varies between processes (Rust hash-set order):
    scores differ in the last bits, and the characters it must keep but did not
    learn get scores ``min + k * 1e-4`` with ``k`` in a random order. Rounding the
    scores, giving every single character in that band one shared score, and
    sorting by (score, piece) makes the same corpus give the same tokenizer, so
    tiny runs are reproducible across processes and machines.
    """
    pieces = [(p, score) for p, score in vocab if p not in specials]
    low = min(score for _, score in pieces)
    band = low + 1e-4 * sum(len(p) == 1 for p, _ in pieces) + 1e-9
    canonical = [(p, round(low if len(p) == 1 and score <= band else score, 6)) for p, score in pieces]
    return [(piece, 0.0) for piece in specials] + sorted(canonical, key=lambda x: (-x[1], x[0]))


def _unigram_vocab(tokenizer: Any) -> list[list[Any]]:
    """The trained (piece, score) list, read from the tokenizer's JSON form."""
    return json.loads(tokenizer._tokenizer.to_str())["model"]["vocab"]
