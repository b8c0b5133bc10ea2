"""Word-level tagging: UD-POS and WikiANN/PAN-X NER; CCG supertagging as an intermediate task.

As in XTREME's ``utils_tag.py``, every word is tokenised on its own, its gold tag
sits on the word's first sub-token, and the other sub-tokens are ignored by the
loss. A word that tokenises to nothing (a lone zero-width or combining character,
which PAN-X has) gets the unknown token, as XTREME does, so it still gets a tag.

Unlike a truncating encoder, no word is ever left untagged: a sentence longer
than the maximum length is cut into consecutive windows of whole words that each
fit, every window is a feature (for training too), and ``predict`` stitches the
windows' tags back into exactly one tag per word.

"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import datasets
import torch
from torch import nn

from ..errors import SpecError
from ..spec import TaskConfig
from .base import TaskType, pad, register_task_type
from .classification import encoder_states

#: the label of sub-tokens that carry no tag (non-first pieces, special tokens, padding)
IGNORE = -100


def word_windows(sizes: list[int], budget: int) -> list[tuple[int, int]]:
    """``(start, end)`` word ranges, in order, whose sub-token counts fit in ``budget``.

    Greedy: a window takes words until the next one would not fit. A single word
    longer than the budget fills a window alone (its pieces are cut to fit).
    """
    spans: list[tuple[int, int]] = []
    start = used = 0
    for word, size in enumerate(sizes):
        size = min(size, budget)
        if used + size > budget:
            spans.append((start, word))
            start, used = word, 0
        used += size
    if start < len(sizes):
        spans.append((start, len(sizes)))
    return spans


def word_pieces(ids: list[int], word_ids: list[int | None], n_words: int, unk_id: int) -> list[list[int]]:
    """Sub-token ids grouped by word; a word with no pieces gets ``[unk_id]`` (XTREME's rule)."""
    pieces: list[list[int]] = [[] for _ in range(n_words)]
    for token, word in zip(ids, word_ids):
        if word is not None:
            pieces[word].append(token)
    return [p or [unk_id] for p in pieces]


def special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The ids a tokenizer puts before and after one sentence (``<s>`` and ``</s>`` for XLM-R)."""
    probe = tokenizer([["a"]], is_split_into_words=True)
    ids, words = probe["input_ids"][0], probe.word_ids(0)
    first = words.index(0)
    last = len(words) - 1 - words[::-1].index(0)
    return ids[:first], ids[last + 1 :]


@lru_cache(maxsize=64)
def _label_set(labels: tuple[str, ...]) -> frozenset[str]:
    return frozenset(labels)


def tag_name(cfg: TaskConfig, tag: Any, example_id: Any) -> str:
    """A gold tag as a name: a name from ``label_list`` or an index into it (hub ClassLabel columns)."""
    if isinstance(tag, int) and not isinstance(tag, bool) and 0 <= tag < len(cfg.label_list):
        return cfg.label_list[tag]
    tag = str(tag)
    if tag in _label_set(tuple(cfg.label_list)) or cfg.labels_from_data:
        return tag
    raise SpecError(
        f"Task {cfg.task!r}, doc {example_id}: tag {tag!r} is not in label_list {cfg.label_list}. "
        f"Fix doc_to_target (does it read the tag column?) or label_list."
    )


def tag_names(docs: datasets.Dataset) -> datasets.Dataset:
    """A ``process_docs`` hook: tag columns of ClassLabel ids (hub datasets) become the dataset's own tag names.

    Decoding with the dataset's own names makes the result independent of ``label_list``'s order. Columns that
    already hold names (local files) are left alone.
    """
    decoders = {
        name: feature.feature
        for name, feature in docs.features.items()
        if isinstance(feature, datasets.List) and isinstance(feature.feature, datasets.ClassLabel)
    }
    if not decoders:
        return docs
    features = docs.features.copy()
    for name in decoders:
        features[name] = datasets.List(datasets.Value("string"))
    return docs.map(
        lambda batch: {name: [labels.int2str(row) for row in batch[name]] for name, labels in decoders.items()},
        batched=True,
        features=features,
    )


class TokenHead(nn.Module):
    """XLM-R's token-classification head: dropout and a linear layer on every sub-token."""

    def __init__(self, hidden_size: int, n_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size, n_labels)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(hidden))


@register_task_type
class Tagging(TaskType[torch.Tensor]):
    name = "tagging"
    fields = {"tokens": True, "target": True}
    noise_fields = ("tokens",)
    default_metrics = ("seqeval",)

    def prepare(self, cfg: TaskConfig, example: dict[str, Any]) -> dict[str, Any]:
        tokens, target = example["tokens"], example["target"]
        if not isinstance(tokens, list) or not isinstance(target, list):
            raise SpecError(
                f"Task {cfg.task!r}, doc {example['id']}: doc_to_tokens and doc_to_target must give lists "
                f"(one word, one tag per word), got {type(tokens).__name__} and {type(target).__name__}."
            )
        if len(tokens) != len(target):
            raise SpecError(
                f"Task {cfg.task!r}, doc {example['id']}: {len(tokens)} words but {len(target)} tags; "
                f"a tagging doc needs exactly one tag per word."
            )
        example["tokens"] = [str(t) for t in tokens]
        example["target"] = [tag_name(cfg, t, example["id"]) for t in target]
        return example

    def encode(
        self, examples: list[dict[str, Any]], tokenizer: Any, max_length: int, cfg: TaskConfig
    ) -> dict[str, list[Any]]:
        prefix, suffix = special_tokens(tokenizer)
        budget = max_length - len(prefix) - len(suffix)
        enc = tokenizer([e["tokens"] for e in examples], is_split_into_words=True, add_special_tokens=False)
        columns: dict[str, list[Any]] = {
            "input_ids": [],
            "labels": [],
            "first_piece": [],
            "first_word": [],
            "example_index": [],
        }
        index = {tag: i for i, tag in enumerate(cfg.label_list)}
        for i, example in enumerate(examples):
            pieces = word_pieces(enc["input_ids"][i], enc.word_ids(i), len(example["tokens"]), tokenizer.unk_token_id)
            classes = [index.get(t, IGNORE) for t in example["target"]]  # an unseen gold tag is never learned
            for start, end in word_windows([len(p) for p in pieces], budget):
                ids, labels, firsts = list(prefix), [IGNORE] * len(prefix), [0] * len(prefix)
                for word in range(start, end):
                    piece = pieces[word][:budget]
                    ids += piece
                    labels += [classes[word]] + [IGNORE] * (len(piece) - 1)
                    firsts += [1] + [0] * (len(piece) - 1)
                columns["input_ids"].append(ids + suffix)
                columns["labels"].append(labels + [IGNORE] * len(suffix))
                columns["first_piece"].append(firsts + [0] * len(suffix))
                columns["first_word"].append(start)
                columns["example_index"].append(example["index"])
        columns["length"] = [len(ids) for ids in columns["input_ids"]]
        return columns

    def collate(self, rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
        ids = pad([r["input_ids"] for r in rows], pad_id)
        return {
            "input_ids": ids,
            "attention_mask": (ids != pad_id).long(),
            "labels": pad([r["labels"] for r in rows], IGNORE),
            "first_piece": pad([r["first_piece"] for r in rows], 0),
        }

    def make_head(self, hidden_size: int, cfg: TaskConfig) -> nn.Module:
        if not cfg.label_list:
            raise SpecError(f"Task {cfg.task!r}: a tagging task needs label_list (or labels_from_data: true).")
        if len(set(cfg.label_list)) != len(cfg.label_list):
            raise SpecError(f"Task {cfg.task!r}: label_list has duplicates: {cfg.label_list}.")
        return TokenHead(hidden_size, len(cfg.label_list))

    def forward(self, encoder: nn.Module, head: nn.Module | None, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        assert head is not None
        return head(encoder_states(encoder, batch["input_ids"], batch["attention_mask"]))

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return nn.functional.cross_entropy(logits.float().flatten(0, 1), batch["labels"].flatten(), ignore_index=IGNORE)

    def outputs(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        """The predicted class of each word of the window (read at its first sub-token), in word order."""
        classes = logits.argmax(-1).cpu()
        words = batch["first_piece"].bool().cpu()
        return [row[mask].tolist() for row, mask in zip(classes, words)]

    def scores(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        """The label probabilities of each word of the window (at its first sub-token), in word order."""
        probs = logits.float().softmax(-1).cpu()
        words = batch["first_piece"].bool().cpu()
        return [row[mask].tolist() for row, mask in zip(probs, words)]

    def predict(self, outputs: list[Any], features: Any, examples: list[dict[str, Any]], cfg: TaskConfig) -> list[Any]:
        tags: list[list[str | None]] = [[None] * len(e["tokens"]) for e in examples]
        for out, index, first in zip(outputs, features["example_index"][:], features["first_word"][:]):
            tags[index][first : first + len(out)] = [cfg.label_list[c] for c in out]
        for example, predicted in zip(examples, tags):
            if None in predicted:  # a bug in the windows, never a property of the data
                raise AssertionError(f"Task {cfg.task!r}, doc {example['id']}: words left without a tag")
        return tags

    def export(self, rows: list[dict[str, Any]]) -> tuple[str, str, str]:
        """``read_tag``'s format: one tag per line, a blank line after each sentence."""
        blocks = {side: "".join("".join(f"{tag}\n" for tag in r[side]) + "\n" for r in rows)
                  for side in ("prediction", "reference")}  # fmt: skip
        return "tsv", blocks["prediction"], blocks["reference"]
