"""Masked-language-model batches mixed into an intermediate stage (``--intermediate mnli+mlm``).

Phang et al. (2020) compared English intermediate training with an alternative
that keeps the model multilingual: masked-LM batches on unlabelled text of many
languages, mixed into the intermediate task's training. Here that is one more
stream of the training loop, beside the task's: the base model's own masked-LM
head (XLM-R's ``lm_head``, its decoder tied to the stage's input embeddings)
on lines of a corpus, masked as BERT does (15% of the tokens; of those 80%
become ``<mask>``, 10% a random token, 10% stay).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import torch
from torch import nn

from .errors import DataError, ModelError
from .spec import stable_hash
from .tasktypes.classification import encoder_states

#: BERT's split of the masked positions: replaced by <mask>, by a random token, or left as they are
MASK_SPLIT = (0.8, 0.1, 0.1)


@dataclass
class MlmMix:
    """The masked-LM part of a stage: its text per language, where the text came from, and how it is mixed."""

    corpus: dict[str, list[str]]  # language -> lines
    source: str  # said to the user and stored with the stage
    ratio: float = 1.0  # masked-LM batches per task batch
    rate: float = 0.15  # share of tokens masked

    def identity(self) -> dict[str, Any]:
        """What the stage's key holds: the mixing settings and a hash of the text itself."""
        return {"ratio": self.ratio, "rate": self.rate, "languages": sorted(self.corpus),
                "corpus": stable_hash(self.corpus, 24)}  # fmt: skip

    def describe(self) -> dict[str, Any]:
        return {**self.identity(), "source": self.source, "lines": {k: len(v) for k, v in self.corpus.items()}}


def read_corpus(folder: Path, languages: list[str] | None, max_lines: int) -> dict[str, list[str]]:
    """``--mlm-corpus DIR``: one UTF-8 text file per language, ``DIR/<lang>.txt``, one sentence or paragraph a
    line (a Wikipedia dump or CC-100 excerpt); the first ``max_lines`` non-empty lines of each are used."""
    if not folder.is_dir():
        raise DataError(f"--mlm-corpus {folder} is not a folder; it should hold one <lang>.txt file per language.")
    available = sorted(p.stem for p in folder.glob("*.txt"))
    corpus: dict[str, list[str]] = {}
    for lang in languages or available:
        path = folder / f"{lang}.txt"
        if not path.is_file():
            raise DataError(
                f"No masked-LM text for {lang!r}: looked for {path} (the folder has: {', '.join(available) or 'none'}). "
                f"Add a text file per language (one sentence or paragraph a line, e.g. a Wikipedia dump or a CC-100 "
                f"excerpt from https://data.statmt.org/cc-100/) or leave {lang} out of --mlm-languages."
            )
        lines: list[str] = []
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    lines.append(line.strip())
                    if len(lines) >= max_lines:
                        break
        corpus[lang] = lines
    if not any(corpus.values()):
        raise DataError(f"--mlm-corpus {folder}: no text in {', '.join(f'{k}.txt' for k in corpus) or 'any *.txt'}.")
    return corpus


#: the example fields that hold model-input text (never ``target``: labels stay out of the masked-LM corpus)
INPUT_FIELDS = ("text", "text_pair", "choices", "context", "question", "tokens")


def held_out_text(docs: Iterable[tuple[str, dict[str, Any]]], evaluated: set[str]) -> dict[str, list[str]]:
    """The smoke corpus: unlabelled input text of the target tasks' non-English docs that are never evaluated.

    ``docs`` holds (language, example) of whole evaluation splits; docs whose id is evaluated in any language
    are left out, so a parallel dev set gives no translation of an evaluated doc either.
    """
    corpus: dict[str, list[str]] = {}
    for lang, example in docs:
        if lang == "en" or example["id"] in evaluated:
            continue
        for name in INPUT_FIELDS:
            value = example.get(name)
            if isinstance(value, list):
                value = " ".join(str(v) for v in value)
            if isinstance(value, str) and value.strip():
                corpus.setdefault(lang, []).append(value)
    return {lang: list(dict.fromkeys(lines)) for lang, lines in sorted(corpus.items())}


def mlm_features(corpus: dict[str, list[str]], tokenizer: Any, max_length: int) -> datasets.Dataset:
    """The corpus tokenised, one row a line (languages in sorted order)."""
    lines = [line for lang in sorted(corpus) for line in corpus[lang]]
    ids = tokenizer(lines, truncation=True, max_length=max_length)["input_ids"]
    return datasets.Dataset.from_dict({"input_ids": ids})


def load_lm_head(path: str, embeddings: nn.Embedding) -> nn.Module:
    """The base model's own masked-LM head (XLM-R's ``lm_head``), its decoder tied to ``embeddings``.

    A fresh copy per stage: it trains with the stage and is dropped afterwards,
    as the stage is evaluated on tasks, not on masked-LM.
    """
    from transformers import AutoModelForMaskedLM

    try:
        model, info = AutoModelForMaskedLM.from_pretrained(path, output_loading_info=True)
    except (OSError, ValueError) as exc:
        raise ModelError(f"+mlm needs the base model's masked-LM head; could not load one from {path}: {exc}") from None
    head = getattr(model, "lm_head", None)
    untrained = [k for k in info.get("missing_keys", []) if "lm_head" in k and "decoder.weight" not in k]
    if head is None or untrained:
        raise ModelError(
            f"+mlm mixes masked-LM batches with the base model's own lm_head, but {path} "
            f"{'has none' if head is None else 'has no trained one (missing ' + ', '.join(sorted(untrained)) + ')'}. "
            f"Use an XLM-R checkpoint with its MLM head (xlm-roberta-large) or the tiny preset."
        )
    head.decoder.weight = embeddings.weight
    return head


class MaskedLM:
    """The masked-LM objective as a stream of the training loop: ``collate``, ``forward`` and ``loss`` as a
    task type has them. Masks are drawn per batch from a seeded generator (dynamic masking, as RoBERTa), so
    the same seed and batches give the same masks."""

    name = "mlm"

    def __init__(self, tokenizer: Any, rate: float, seed: int) -> None:
        self.rate = rate
        self.mask_id = tokenizer.mask_token_id
        self.vocab_size = len(tokenizer)
        self.special = torch.tensor(sorted(set(tokenizer.all_special_ids)))
        self.generator = torch.Generator().manual_seed(seed)

    def collate(self, rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r["input_ids"])] = torch.tensor(r["input_ids"])
        maskable = ~torch.isin(ids, self.special) & (ids != pad_id)
        draw = torch.rand(ids.shape, generator=self.generator)
        chosen = maskable & (draw < self.rate)
        for i in range(len(rows)):  # every line teaches something: one masked token at least
            if not chosen[i].any() and maskable[i].any():
                chosen[i, int(maskable[i].nonzero()[0])] = True
        labels = torch.where(chosen, ids, torch.full_like(ids, -100))
        how = torch.rand(ids.shape, generator=self.generator)
        random_ids = torch.randint(self.vocab_size, ids.shape, generator=self.generator)
        inputs = torch.where(chosen & (how < MASK_SPLIT[0]), torch.full_like(ids, self.mask_id), ids)
        swap = chosen & (how >= MASK_SPLIT[0]) & (how < MASK_SPLIT[0] + MASK_SPLIT[1])
        inputs = torch.where(swap, random_ids, inputs)
        return {"input_ids": inputs, "attention_mask": (ids != pad_id).long(), "labels": labels}

    def forward(self, encoder: nn.Module, head: nn.Module | None, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Vocabulary logits at the masked positions only: XLM-R's 250k-word vocabulary at every position of a
        batch would take gigabytes."""
        assert head is not None
        hidden = encoder_states(encoder, batch["input_ids"], batch["attention_mask"])
        return head(hidden[batch["labels"] != -100])

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        labels = batch["labels"]
        return nn.functional.cross_entropy(logits.float(), labels[labels != -100])
