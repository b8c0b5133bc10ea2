"""The span-QA n-best search as the harness did it in Python before it moved onto the device: the test oracle
(``test_span_qa``) and the "before" of ``benchmarks/span_search.py``.

Per window the ``N_BEST`` best context tokens as start and as end (``sorted`` is stable: among equal logits the
earlier token first, as the official ``_get_best_indexes``), then a loop over windows, starts and ends that keeps
the first pair with the highest start + end logit (Python floats) whose start has its most context in the window.
"""

from __future__ import annotations

import torch

from harness.tasktypes.span_qa import MAX_ANSWER_TOKENS, N_BEST

NEG_INF = float("-inf")


def max_context_window(windows: list[tuple[int, int]], position: int) -> int:
    """Index of the window (first token, number of tokens) in which ``position`` has the most context."""
    best, best_score = -1, NEG_INF
    for index, (first, length) in enumerate(windows):
        if first <= position < first + length:
            score = min(position - first, first + length - 1 - position) + 0.01 * length
            if score > best_score:
                best, best_score = index, score
    return best


def window_n_best(start_logits: list[float], end_logits: list[float], context_start: int, n_context: int) -> dict:
    """One window's candidates: (context-relative position, logit) of the best starts and ends, as read back."""
    k = min(N_BEST, len(start_logits))
    inside = range(context_start, context_start + n_context)

    def best(logits: list[float]) -> list[tuple[int, float]]:
        masked = [(i, v if i in inside else NEG_INF) for i, v in enumerate(logits)]
        top = sorted(masked, key=lambda item: item[1], reverse=True)[:k]
        return [(i - context_start, v) for i, v in top if v != NEG_INF]

    return {"starts": best(start_logits), "ends": best(end_logits)}


def reference_answer(context: str, windows: list[dict], allow_no_answer: bool) -> str:
    """One question's answer from its windows: dicts of ``starts``, ``ends`` (``window_n_best``), ``null``,
    ``offsets`` (the context tokens' characters) and ``window_start``."""
    spans = [(w["window_start"], len(w["offsets"])) for w in windows]
    best: tuple[float, int, int, int] | None = None  # score, window, start, end
    for index, window in enumerate(windows):
        for start, start_logit in window["starts"]:
            if max_context_window(spans, window["window_start"] + start) != index:
                continue
            for end, end_logit in window["ends"]:
                if start <= end < start + MAX_ANSWER_TOKENS and (best is None or start_logit + end_logit > best[0]):
                    best = (start_logit + end_logit, index, start, end)
    if best is None:
        return ""
    if allow_no_answer and min(w["null"] for w in windows) - best[0] > 0:
        return ""
    offsets = windows[best[1]]["offsets"]
    return context[offsets[best[2]][0] : offsets[best[3]][1]]


def read_back(logits: torch.Tensor, batch: dict) -> list[dict]:
    """The old ``SpanQA.outputs``: per window the n-best (``topk``) read back as Python lists, searched later."""
    logits = logits.float()
    outside = (batch["context_mask"] == 0).unsqueeze(-1)
    k = min(N_BEST, logits.shape[1])
    values, indexes = logits.masked_fill(outside, NEG_INF).topk(k, dim=1)
    indexes = indexes - batch["context_start"].view(-1, 1, 1)
    null = logits[:, 0, 0] + logits[:, 0, 1]
    scores, positions, nulls = values.cpu().tolist(), indexes.cpu().tolist(), null.cpu().tolist()
    out = []
    for b in range(len(nulls)):
        best = [[(i[side], v[side]) for i, v in zip(positions[b], scores[b]) if v[side] != NEG_INF] for side in (0, 1)]
        out.append({"starts": best[0], "ends": best[1], "null": nulls[b]})
    return out
