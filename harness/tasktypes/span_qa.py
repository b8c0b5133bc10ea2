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

import torch
from torch import nn

from ..errors import ExportRefused, SpecError
from ..metrics.squad import normalize_squad
from ..spec import TaskConfig
from . import TaskType, pad, register_task_type
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


def max_context_window(windows: list[tuple[int, int]], position: int) -> int:
    """Index of the window in which context token ``position`` has the most context (BERT's rule).

    ``windows`` are ``(first token, number of tokens)``; the score is the
    smaller of the left and right context plus 0.01 × window length; the
    first best window wins.
    """
    best, best_score = -1, float("-inf")
    for index, (first, length) in enumerate(windows):
        if first <= position < first + length:
            score = min(position - first, first + length - 1 - position) + 0.01 * length
            if score > best_score:
                best, best_score = index, score
    return best


@register_task_type
class SpanQA(TaskType):
    name = "span_qa"
    fields = {"question": True, "context": True, "target": True}
    noise_fields = ("question", "context")
    default_metrics = ("squad",)

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
            for window in example_windows:
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
        return {
            "input_ids": ids,
            "attention_mask": (ids != pad_id).long(),
            "context_mask": context_mask,
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
        """Per window: the ``N_BEST`` best context tokens as start and as end (context-relative), and the null score."""
        logits = logits.float()
        outside = (batch["context_mask"] == 0).unsqueeze(-1)
        k = min(N_BEST, logits.shape[1])
        values, indexes = logits.masked_fill(outside, float("-inf")).topk(k, dim=1)  # (batch, k, start/end)
        indexes = indexes - batch["context_start"].view(-1, 1, 1)
        null = logits[:, 0, 0] + logits[:, 0, 1]
        # read back once per batch (each read from a GPU waits for it), then split up in Python
        scores, positions, nulls = values.cpu().tolist(), indexes.cpu().tolist(), null.cpu().tolist()
        out = []
        for b in range(len(nulls)):
            best = []
            for side in (0, 1):
                best.append([(i[side], v[side]) for i, v in zip(positions[b], scores[b]) if v[side] != float("-inf")])
            out.append({"starts": best[0], "ends": best[1], "null": nulls[b]})
        return out

    def predict(self, outputs: list[Any], features: Any, examples: list[dict[str, Any]], cfg: TaskConfig) -> list[Any]:
        windows: dict[int, list[tuple[dict[str, Any], list[list[int]], int]]] = defaultdict(list)
        columns = zip(outputs, features["example_index"], features["offsets"], features["window_start"])
        for out, index, offsets, first in columns:
            windows[index].append((out, offsets, first))
        preds: list[Any] = [None] * len(examples)
        for example in examples:
            preds[example["index"]] = best_answer(example["context"], windows[example["index"]], cfg.allow_no_answer)
        return preds

    def reference(self, example: dict[str, Any]) -> Any:
        return list(example["target"]["text"])

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


def best_answer(context: str, windows: list[tuple[dict[str, Any], list[list[int]], int]], allow_no_answer: bool) -> str:
    """The answer text of one question from the outputs of its windows (see the module docstring)."""
    spans = [(first, len(offsets)) for _, offsets, first in windows]
    best: tuple[float, int, int, int] | None = None  # score, window, start, end
    for w, (out, _, first) in enumerate(windows):
        for start, start_logit in out["starts"]:
            if max_context_window(spans, first + start) != w:
                continue
            for end, end_logit in out["ends"]:
                if start <= end < start + MAX_ANSWER_TOKENS and (best is None or start_logit + end_logit > best[0]):
                    best = (start_logit + end_logit, w, start, end)
    if best is None:
        return ""
    if allow_no_answer and min(out["null"] for out, _, _ in windows) - best[0] > 0:
        return ""
    offsets = windows[best[1]][1]
    return context[offsets[best[2]][0] : offsets[best[3]][1]]


def _cut_questions(questions: list[str], tokenizer: Any) -> list[str]:
    """Questions cut after ``MAX_QUESTION_TOKENS`` tokens (XTREME's ``max_query_length``), at a character offset."""
    enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    return [
        q if len(offsets) <= MAX_QUESTION_TOKENS else q[: offsets[MAX_QUESTION_TOKENS - 1][1]]
        for q, offsets in zip(questions, enc["offset_mapping"])
    ]
