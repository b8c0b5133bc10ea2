"""Extractive QA: XQuAD, MLQA, TyDiQA-GoldP; SQuAD v1.1 and v2.0 as intermediates.

The recipe of XTREME's and jiant's ``run_squad`` (BERT's original one):

- A feature is ``<s> question </s></s> window </s>``: the question cut to 64
  tokens, then a window of the context. Long contexts get several windows, each
  starting ``DOC_STRIDE`` (128) tokens after the previous one: XTREME's
  ``doc_stride`` is the step between windows, not their overlap (HF's newer
  ``run_qa.py`` passes it to the tokenizer as the overlap instead). With a short
  maximum length (the smoke model's 128) the step shrinks to half a window, so
  windows still overlap and an answer up to half a window long lies wholly in
  one of them. The fast tokenizer cuts the windows
  (``return_overflowing_tokens``, with the overlap that gives this step) and
  maps every token to its characters.
- Training labels are the first and last token of the first gold answer; a
  window that does not hold the whole answer, and every window of an
  unanswerable question, points both at ``<s>``.
- Prediction takes, per window, the ``N_BEST`` (20) best start and end tokens
  of the context, keeps pairs with ``start <= end`` at most
  ``MAX_ANSWER_TOKENS`` (30) tokens long whose start lies in the window where it
  has the most context, and returns the pair with the highest start + end logit
  over all windows. With ``allow_no_answer`` (SQuAD v2) it returns "" when the
  null score (``<s>`` start + end, lowest over windows) beats that pair.
  Ties go as in the official ``run_squad`` (stable sorts): among equal logits
  the earlier token is the better candidate; among equal pair scores the first
  in (window, start rank, end rank) order wins. Each window's search runs on the
  device, as tensor operations over the whole batch (``best_spans``); the host
  reads back one (score, first character, character after, null) row per
  window and only picks the best window of each question.
- The answer is cut from the original context by the tokens' character
  offsets, never decoded from tokens, so normalisation (NFKC), unknown tokens
  and whitespace do not change it, in scripts without spaces too. A token is the
  smallest unit: when a gold answer starts or ends inside one, the prediction
  can only cover the whole token.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ExportRefused, SpecError
from ..metrics.squad import normalize_squad
from ..spec import TaskConfig
from .base import TaskType, pad, register_task_type
from .classification import encoder_states

MAX_QUESTION_TOKENS = 64
DOC_STRIDE = 128
N_BEST = 20
MAX_ANSWER_TOKENS = 30


def answer_chars(text: str, start: int) -> tuple[int, int] | None:
    """The answer's characters ``[start, end)`` without surrounding whitespace; None if nothing is left."""
    stripped = text.strip()
    if not stripped:
        return None
    begin = start + len(text) - len(text.lstrip())
    return begin, begin + len(stripped)


def token_span(offsets: list[list[int]], begin: int, end: int) -> tuple[int, int] | None:
    """The first and last token (indexes into ``offsets``) covering characters ``[begin, end)``.

    None when the tokens do not cover the whole span (the answer lies outside
    this window). Tokens that only partly overlap the span are included: a
    token is never split.
    """
    if not offsets or offsets[0][0] > begin or offsets[-1][1] < end:
        return None
    first = next(k for k, (_, stop) in enumerate(offsets) if stop > begin)
    last = max(k for k, (start, _) in enumerate(offsets) if start < end)
    return first, last


def max_context(windows: list[tuple[int, int]]) -> list[list[bool]]:
    """Per window, per token: whether this is the window in which the token has the most context (BERT's rule).

    ``windows`` are one question's ``(first context token, number of tokens)``; a
    token's score in a window is the smaller of its left and right context plus
    0.01 × window length, and the first best window wins. Computed once when
    features are made, so that the span search needs no other window.
    """
    if not windows:
        return []
    first, length = (np.array(column)[:, None] for column in zip(*windows))
    position = np.arange(int((first + length).max()))
    score = np.minimum(position - first, first + length - 1 - position) + 0.01 * length
    best = np.where((position >= first) & (position < first + length), score, -np.inf).argmax(axis=0)
    return [(best[f : f + n] == w).tolist() for w, (f, n) in enumerate(windows)]


def n_best(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` highest scores of each row and their positions; equal scores in position order, earlier first
    (a stable sort, as the official ``_get_best_indexes``: ``topk`` leaves the order of ties unspecified)."""
    values, positions = scores.sort(dim=1, descending=True, stable=True)
    return values[:, :k], positions[:, :k]


def best_spans(logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Each window's best answer span, searched on the logits' device: rows of (score, begin, end, null).

    The ``N_BEST`` best context tokens as start and as end (``n_best``), every
    start × end pair with ``start <= end < start + MAX_ANSWER_TOKENS`` whose start
    has its most context in this window, scored start + end logit in float64 (the
    sum the host's Python floats made, so equal scores stay equal), and the first
    best pair in (start rank, end rank) order. ``begin`` and ``end`` are the
    span's characters in the context (``[begin, end)``, from the tokens'
    offsets), so the host needs no offsets to cut the answer out; score -inf: the
    window offers no span. ``null`` is the ``<s>`` start + end logit (SQuAD v2's
    no-answer score).
    """
    logits = logits.float()
    outside = batch["context_mask"] == 0
    k = min(N_BEST, logits.shape[1])
    starts, start_at = n_best(logits[..., 0].masked_fill(outside, float("-inf")), k)
    ends, end_at = n_best(logits[..., 1].masked_fill(outside, float("-inf")), k)
    allowed = batch["max_context"].gather(1, start_at).bool() & (starts != float("-inf"))
    length = end_at[:, None, :] - start_at[:, :, None]  # (batch, start rank, end rank)
    valid = allowed[:, :, None] & (ends != float("-inf"))[:, None, :] & (length >= 0) & (length < MAX_ANSWER_TOKENS)
    pairs = (starts.double()[:, :, None] + ends.double()[:, None, :]).masked_fill(~valid, float("-inf")).flatten(1)
    best = pairs.argmax(dim=1, keepdim=True)  # the first of equal maxima
    begin = batch["offsets"][..., 0].gather(1, start_at.gather(1, best // k))
    end = batch["offsets"][..., 1].gather(1, end_at.gather(1, best % k))
    null = (logits[:, 0, 0] + logits[:, 0, 1]).view(-1, 1)
    return torch.cat([pairs.gather(1, best), begin.double(), end.double(), null.double()], dim=1)


@register_task_type
class SpanQA(TaskType[torch.Tensor]):
    name = "span_qa"
    fields = {"question": True, "context": True, "target": True}
    noise_fields = ("question", "context")
    default_metrics = ("squad",)
    version = 2  # 2: each window carries its tokens' max-context flags

    def prepare(self, cfg: TaskConfig, example: dict[str, Any]) -> dict[str, Any]:
        example["question"], example["context"] = str(example["question"]), str(example["context"])
        target = example["target"]
        texts = target.get("text") if isinstance(target, dict) else None
        starts = target.get("answer_start") if isinstance(target, dict) else None
        if not isinstance(texts, list) or not isinstance(starts, list) or len(texts) != len(starts):
            raise SpecError(
                f"Task {cfg.task!r}, doc {example['id']}: doc_to_target must give SQuAD-style answers "
                f"{{text: [...], answer_start: [...]}} with one start per text, got {target!r}."
            )
        for text, start in zip(texts, starts):
            if not isinstance(start, int) or not 0 <= start <= len(example["context"]) - len(str(text)):
                raise SpecError(
                    f"Task {cfg.task!r}, doc {example['id']}: answer {text!r} starts at {start!r}, outside its "
                    f"context of {len(example['context'])} characters."
                )
        example["target"] = {"text": [str(t) for t in texts], "answer_start": list(starts)}
        return example

    def encode(
        self, examples: list[dict[str, Any]], tokenizer: Any, max_length: int, cfg: TaskConfig
    ) -> dict[str, list[Any]]:
        if not getattr(tokenizer, "is_fast", False):
            raise SpecError(
                f"span_qa needs a fast (Rust) tokenizer for character offsets; {type(tokenizer).__name__} is not one."
            )
        questions = _cut_questions([e["question"] for e in examples], tokenizer)
        lengths = [len(ids) for ids in tokenizer(questions, add_special_tokens=False)["input_ids"]]
        by_length: dict[int, list[int]] = defaultdict(list)
        for i, n in enumerate(lengths):
            by_length[n].append(i)
        windows: list[list[dict[str, Any]]] = [[] for _ in examples]
        for n, members in by_length.items():
            room = max_length - n - tokenizer.num_special_tokens_to_add(pair=True)
            if room < 1:
                raise SpecError(
                    f"span_qa: max length {max_length} leaves no room for a context after a {n}-token question."
                )
            step = max(1, min(DOC_STRIDE, room // 2))
            enc = tokenizer(
                [questions[i] for i in members],
                [examples[i]["context"] for i in members],
                truncation="only_second",
                max_length=max_length,
                stride=room - step,
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
            )
            offsets, samples = enc["offset_mapping"], enc["overflow_to_sample_mapping"]
            for j, ids in enumerate(enc["input_ids"]):
                i = members[samples[j]]
                context = [k for k, seq in enumerate(enc.sequence_ids(j)) if seq == 1]
                first = context[0] if context else len(ids)
                windows[i].append(
                    {
                        "input_ids": ids,
                        "context_start": first,
                        "offsets": offsets[j][first : first + len(context)],
                        "window_start": len(windows[i]) * step,
                    }
                )
        columns: dict[str, list[Any]] = defaultdict(list)
        for example, example_windows in zip(examples, windows):
            flags = max_context([(w["window_start"], len(w["offsets"])) for w in example_windows])
            for window, window_flags in zip(example_windows, flags):
                window["max_context"] = window_flags
                start, end = self._label(example, window)
                for key, value in window.items():
                    columns[key].append(value)
                columns["start_position"].append(start)
                columns["end_position"].append(end)
                columns["example_index"].append(example["index"])
                columns["length"].append(len(window["input_ids"]))
        return dict(columns)

    @staticmethod
    def _label(example: dict[str, Any], window: dict[str, Any]) -> tuple[int, int]:
        """Token positions of the first gold answer in this window; ``(0, 0)`` (``<s>``) when it is not inside."""
        target = example["target"]
        if not target["text"]:
            return 0, 0
        chars = answer_chars(target["text"][0], target["answer_start"][0])
        span = token_span(window["offsets"], *chars) if chars else None
        if span is None:
            return 0, 0
        return window["context_start"] + span[0], window["context_start"] + span[1]

    def collate(self, rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
        ids = pad([r["input_ids"] for r in rows], pad_id)
        context_mask = torch.zeros_like(ids)
        for i, r in enumerate(rows):
            context_mask[i, r["context_start"] : r["context_start"] + len(r["offsets"])] = 1
        # the context tokens' max-context flags and characters, in row-major order (numpy reads nested lists several
        # times faster than torch.tensor does, and collating runs beside the device)
        context = context_mask.bool()
        max_context_mask, characters = torch.zeros_like(ids), torch.zeros((*ids.shape, 2), dtype=torch.long)
        if context.any():
            flags = np.concatenate([np.asarray(r["max_context"], dtype=np.int64) for r in rows])
            pairs = np.concatenate([np.asarray(r["offsets"], dtype=np.int64).reshape(-1, 2) for r in rows])
            max_context_mask[context], characters[context] = torch.from_numpy(flags), torch.from_numpy(pairs)
        return {
            "input_ids": ids,
            "attention_mask": (ids != pad_id).long(),
            "context_mask": context_mask,
            "max_context": max_context_mask,
            "offsets": characters,
            "context_start": torch.tensor([r["context_start"] for r in rows]),
            "start_positions": torch.tensor([r["start_position"] for r in rows]),
            "end_positions": torch.tensor([r["end_position"] for r in rows]),
        }

    def make_head(self, hidden_size: int, cfg: TaskConfig) -> nn.Module:
        return nn.Linear(hidden_size, 2)  # start and end logits per token, as XLMRobertaForQuestionAnswering

    def forward(self, encoder: nn.Module, head: nn.Module | None, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        assert head is not None
        return head(encoder_states(encoder, batch["input_ids"], batch["attention_mask"]))

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        padding = batch["attention_mask"] == 0
        logits = logits.float().masked_fill(padding.unsqueeze(-1), float("-inf"))
        start = nn.functional.cross_entropy(logits[..., 0], batch["start_positions"])
        end = nn.functional.cross_entropy(logits[..., 1], batch["end_positions"])
        return (start + end) / 2

    def outputs(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        """Per window: its best span, ``(score, first character, character after)`` or None if it offers none, and
        its null score; searched on the device and read back once per batch (each read from a GPU waits for it)."""
        rows = best_spans(logits, batch).cpu().tolist()
        return [{"best": None if score == float("-inf") else (score, int(begin), int(end)), "null": null}
                for score, begin, end, null in rows]  # fmt: skip

    def predict(self, outputs: list[Any], features: Any, examples: list[dict[str, Any]], cfg: TaskConfig) -> list[Any]:
        windows: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for out, index in zip(outputs, features["example_index"][:]):  # no other column: offsets are slow to read
            windows[index].append(out)
        preds: list[Any] = [None] * len(examples)
        for example in examples:
            preds[example["index"]] = best_answer(example["context"], windows[example["index"]], cfg.allow_no_answer)
        return preds

    def reference(self, example: dict[str, Any]) -> Any:
        return list(example["target"]["text"])

    def scorable(self, examples: list[dict[str, Any]], cfg: TaskConfig) -> bool:
        """With unanswerable questions (SQuAD v2), an empty answer list is a gold answer too."""
        return (cfg.allow_no_answer and bool(examples)) or super().scorable(examples, cfg)

    def correct(self, reference: Any, prediction: Any) -> bool:
        return any(normalize_squad(prediction) == normalize_squad(gold) for gold in reference)

    def export(self, rows: list[dict[str, Any]]) -> tuple[str, str, str]:
        """SQuAD's formats: predictions ``{id: answer}``; gold, a SQuAD-format dataset holding the answers.

        The scorers look predictions up by question id, so a file that reuses an id (TyDiQA-GoldP's English
        train split reuses 67) would score one prediction for all its questions: every repeat gets a fresh
        id (``<id>#2``, ...) in both files. A question without a gold answer is refused: the scorers take
        the best score over the gold answers and fail on none.
        """
        blank = [r["id"] for r in rows if not r["reference"]]
        if blank:
            raise ExportRefused(
                f"{len(blank)} of {len(rows)} questions have no gold answer (first: {blank[0]!r}); evaluate.py's "
                f"SQuAD and MLQA scorers take the best score over a question's gold answers and fail on none "
                f"(XTREME's download strips its test answers: export a labelled split)."
            )
        ids: list[str] = []
        seen: set[str] = set()
        for r in rows:
            qid, n = str(r["id"]), 1
            while qid in seen:
                n += 1
                qid = f"{r['id']}#{n}"
            seen.add(qid)
            ids.append(qid)
        predictions = {qid: r["prediction"] for qid, r in zip(ids, rows)}
        qas = [{"id": qid, "answers": [{"text": text} for text in r["reference"]]} for qid, r in zip(ids, rows)]
        gold = {"version": "1.1", "data": [{"title": "", "paragraphs": [{"context": "", "qas": qas}]}]}
        return (
            "json",
            json.dumps(predictions, ensure_ascii=False, allow_nan=False),
            json.dumps(gold, ensure_ascii=False, allow_nan=False),
        )


def best_answer(context: str, windows: list[dict[str, Any]], allow_no_answer: bool) -> str:
    """One question's answer text from its windows' best spans, in window order (the first best window wins)."""
    offered = [out["best"] for out in windows if out["best"] is not None]
    if not offered:
        return ""
    score, begin, end = max(offered, key=lambda span: span[0])
    if allow_no_answer and min(out["null"] for out in windows) - score > 0:
        return ""
    return context[begin:end]


def _cut_questions(questions: list[str], tokenizer: Any) -> list[str]:
    """Questions cut after ``MAX_QUESTION_TOKENS`` tokens (XTREME's ``max_query_length``), at a character offset."""
    enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    return [
        q if len(offsets) <= MAX_QUESTION_TOKENS else q[: offsets[MAX_QUESTION_TOKENS - 1][1]]
        for q, offsets in zip(questions, enc["offset_mapping"])
    ]
