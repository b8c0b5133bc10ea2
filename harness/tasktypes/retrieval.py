"""Retrieval: sentence embeddings pooled from one encoder layer, compared by cosine similarity.

Tatoeba and BUCC need no training: their sentences are embedded by whatever encoder the run hands over
(the base model, a fine-tuned one, or one carrying an intermediate-task LoRA adapter), which is how
Phang et al. and XTREME-R's own Tatoeba script evaluate them. LAReQA and Mewsli-X train the same
embedding as a dual encoder (one shared tower; in-batch sampled softmax, XTREME-R's baseline) on English
(query, positive) pairs, then rank a candidate pool.

Examples: ``text`` is the query side (the non-English sentence, the question, the mention in context),
``text_pair`` the gold partner when it is a sentence (the English side; the positive when training),
``target`` the gold: prepared per search mode (see ``prepare``). The spec's ``retrieval:`` block
(``RetrievalSettings``) chooses the layer, pooling, projection and search:

- ``nearest`` (Tatoeba): each ``query``-side sentence retrieves its nearest sentence on the other side;
  prediction = the retrieved example's id, scored by ``acc``. XTREME searches with the English side.
- ``mine`` (BUCC): margin-based mining over both sides; the threshold is tuned on the dev split.
- ``rank`` (LAReQA, Mewsli-X): the top-k of a candidate pool loaded from ``retrieval.candidates``,
  embedded batch by batch into a running top-k (a million candidates never sit in one matrix).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import torch
from torch import nn

from .. import search
from ..data import load_docs
from ..errors import ExportRefused, SpecError
from ..metrics.retrieval import best_threshold
from ..spec import SOURCE_KEYS, RetrievalSettings, TaskConfig
from ..templating import render
from .base import TaskType, pad, register_task_type
from .pools import layers_up_to, pool_embeddings

if TYPE_CHECKING:
    from .context import PredictionContext

#: XTREME-R's run_tatoeba.sh pools XLM-R Large's hidden_states[14] (its "layer 13" of the last 24; jiant's 14)
XTREME_DEPTH = 14 / 24
#: the logit scale XTREME's dual encoder starts from (a trained parameter there and here)
LOGIT_SCALE = 100.0
#: keys of ``retrieval.candidates`` that replace the task's own data source for the pool
POOL_SOURCE_KEYS = (*(k for k in SOURCE_KEYS if k != "data_note"), "process_docs")


class Embedded(NamedTuple):
    """Both sides of a batch: embeddings (rows without that side hold zeros) and which rows have it."""

    text: torch.Tensor
    pair: torch.Tensor
    has_text: torch.Tensor
    has_pair: torch.Tensor
    scale: torch.Tensor


class RetrievalHead(nn.Module):
    """Pooling of one hidden layer (mean over the attention mask, or ``<s>``), optionally projected."""

    def __init__(self, hidden_size: int, settings: RetrievalSettings) -> None:
        super().__init__()
        self.layer = settings.layer
        self.pooling = settings.pooling
        self.dense = nn.Linear(hidden_size, hidden_size) if settings.projection else None
        self.logit_scale = nn.Parameter(torch.tensor(LOGIT_SCALE)) if settings.projection else None

    def layer_index(self, n_layers: int) -> int:
        layer = round(n_layers * XTREME_DEPTH) if self.layer is None else self.layer
        if not -(n_layers + 1) <= layer <= n_layers:
            raise SpecError(
                f"retrieval.layer {layer} does not exist in an encoder with {n_layers} layers (hidden states "
                f"0..{n_layers}, 0 = embeddings). Set retrieval.layer in the spec or pass --retrieval-layer."
            )
        return layer

    def embed(self, encoder: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        # training keeps every layer: the layers above still draw dropout noise, and skipping them would change it
        with layers_up_to(encoder, self.layer_index, enabled=not self.training) as cut:
            if cut:
                hidden = encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            else:
                out = encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
                hidden = out.hidden_states[self.layer_index(len(out.hidden_states) - 1)]
        hidden = hidden.float()
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:  # XTREME's mean_pool_embedding: special tokens included, padding excluded
            mask = attention_mask.unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1)
        return torch.tanh(self.dense(pooled)) if self.dense is not None else pooled


def _side(head: RetrievalHead, encoder: nn.Module, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
    has = mask.sum(1) > 0
    if not bool(has.any()):
        return torch.zeros((len(ids), 0), device=ids.device), has
    embedded = head.embed(encoder, ids[has], mask[has])
    out = embedded.new_zeros((len(ids), embedded.shape[1]))
    out[has] = embedded
    return out, has


@register_task_type
class Retrieval(TaskType[Embedded]):
    name = "retrieval"
    fields = {"text": True, "text_pair": False, "target": False}
    noise_fields = ("text",)
    default_metrics = ("acc",)
    trainable = True  # when the spec has a training split (LAReQA, Mewsli-X); else the encoder is used as is
    mixable = False

    def prepare(self, cfg: TaskConfig, example: dict[str, Any]) -> dict[str, Any]:
        """Adds ``gold``, what the metric compares with: nearest -> the example's own id (its pair is the
        answer); mine -> the gold pair ``"src_id<TAB>tgt_id"`` (``target`` = the English sentence's id; None
        outside the gold); rank -> the list of relevant candidate ids."""
        search_mode, target = cfg.retrieval.search, example["target"]
        if search_mode == "nearest":
            example["gold"] = example["id"]
        elif search_mode == "mine":
            paired = example["text"] is not None and example["text_pair"] is not None and target
            example["gold"] = f"{example['id']}\t{target}" if paired else None
        else:
            example["gold"] = [] if target is None else [str(target)] if isinstance(target, str) else list(target)
        return example

    def reference(self, example: dict[str, Any]) -> Any:
        return example["gold"]

    def pools_split(self, cfg: TaskConfig) -> bool:
        return cfg.retrieval.search in ("nearest", "mine")

    def scored_inputs(self, examples: list[dict[str, Any]], cfg: TaskConfig) -> list[dict[str, Any]]:
        """Ranking embeds only the queries (the pool is embedded apart): a query's positive, there to train
        on (LAReQA's questions carry theirs), is not embedded at evaluation."""
        if cfg.retrieval.search != "rank":
            return examples
        return [{**e, "text_pair": None} for e in examples]

    def encode(
        self, examples: list[dict[str, Any]], tokenizer: Any, max_length: int, cfg: TaskConfig
    ) -> dict[str, list[Any]]:
        """One feature per example holding both sides (either may be empty); text is stripped as XTREME does."""

        def tokenize(name: str) -> list[list[int]]:
            present = [i for i, e in enumerate(examples) if e.get(name) is not None]
            ids: list[list[int]] = [[] for _ in examples]
            if present:
                texts = [str(examples[i][name]).strip() for i in present]
                for i, row in zip(present, tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]):
                    ids[i] = row
            return ids

        text, pair = tokenize("text"), tokenize("text_pair")
        return {
            "input_ids": text,
            "pair_ids": pair,
            "example_index": [e["index"] for e in examples],
            "length": [len(a) + len(b) for a, b in zip(text, pair)],
        }

    def collate(self, rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
        text, pair = pad([r["input_ids"] for r in rows], pad_id), pad([r["pair_ids"] for r in rows], pad_id)
        return {
            "input_ids": text,
            "attention_mask": (text != pad_id).long(),
            "pair_ids": pair,
            "pair_mask": (pair != pad_id).long(),
        }

    def make_head(self, hidden_size: int, cfg: TaskConfig) -> nn.Module:
        return RetrievalHead(hidden_size, cfg.retrieval)

    def forward(self, encoder: nn.Module, head: nn.Module | None, batch: dict[str, torch.Tensor]) -> Embedded:
        assert isinstance(head, RetrievalHead)
        text, has_text = _side(head, encoder, batch["input_ids"], batch["attention_mask"])
        pair, has_pair = _side(head, encoder, batch["pair_ids"], batch["pair_mask"])
        scale = head.logit_scale if head.logit_scale is not None else torch.tensor(LOGIT_SCALE)
        return Embedded(text, pair, has_text, has_pair, scale)

    def loss(self, logits: Embedded, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """In-batch sampled softmax: each query against every positive of the batch (XTREME's dual encoder)."""
        both = logits.has_text & logits.has_pair
        if not bool(both.any()):
            raise SpecError("Training a retrieval task needs examples with both text (query) and text_pair (positive).")
        queries, positives = search.normalize(logits.text[both]), search.normalize(logits.pair[both])
        scores = queries @ positives.T * logits.scale.float()
        return nn.functional.cross_entropy(scores, torch.arange(len(scores), device=scores.device))

    def outputs(self, logits: Embedded, batch: dict[str, torch.Tensor]) -> list[Any]:
        text, pair = logits.text.float().cpu(), logits.pair.float().cpu()
        has_text, has_pair = logits.has_text.tolist(), logits.has_pair.tolist()
        return [(text[i] if has_text[i] else None, pair[i] if has_pair[i] else None) for i in range(len(text))]

    def predict(self, outputs: list[Any], features: Any, examples: list[dict[str, Any]], cfg: TaskConfig) -> list[Any]:
        if cfg.retrieval.search != "nearest":
            raise SpecError(
                f"Task {cfg.task!r}: retrieval search {cfg.retrieval.search!r} needs the evaluation context."
            )
        return nearest_predictions(_by_example(outputs, features, len(examples)), examples, cfg.retrieval)

    def predict_in_context(
        self, context: PredictionContext, outputs: list[Any], features: Any, examples: list[dict[str, Any]]
    ) -> list[Any]:
        cfg = context.task.cfg
        embedded = _by_example(outputs, features, len(examples))
        if cfg.retrieval.search == "nearest":
            return nearest_predictions(embedded, examples, cfg.retrieval, context.device)
        if cfg.retrieval.search == "mine":
            return mined_predictions(embedded, examples, context)
        return ranked_predictions(embedded, examples, context)

    def export(self, rows: list[dict[str, Any]]) -> tuple[str, str, str]:
        """Tatoeba: the matched sentence per line (``read_label``); BUCC: the extracted pairs and the gold pairs,
        ``src_id<TAB>tgt_id`` per line (``bucc_f1``); ranked candidates (Mewsli-X): JSON ``{example id: [entity
        ids]}`` for predictions and ``{example id: [gold entity]}`` for labels (``utils_mewslix.evaluate``)."""
        if rows and isinstance(rows[0]["reference"], list):
            odd = [r for r in rows if len(r["reference"]) != 1]
            if odd:
                raise ExportRefused(
                    f"{len(odd)} of {len(rows)} queries do not have exactly one gold candidate (query {odd[0]['id']!r} "
                    f"has {len(odd[0]['reference'])}); evaluate.py's ranked-retrieval reader (Mewsli-X's) scores one "
                    f"gold entity per query."
                )
            ids = [str(r["id"]) for r in rows]
            if len(set(ids)) < len(ids):
                raise ExportRefused("query ids repeat; Mewsli-X's JSON files are keyed by a unique example id.")
            return (
                "json",
                json.dumps(
                    {i: list(r["prediction"] or []) for i, r in zip(ids, rows)}, ensure_ascii=False, allow_nan=False
                ),
                json.dumps({i: list(r["reference"]) for i, r in zip(ids, rows)}, ensure_ascii=False, allow_nan=False),
            )
        mined = [r["prediction"] for r in rows if isinstance(r["prediction"], dict)]
        if not mined:
            return super().export(rows)
        kept = [p["pair"] for p in mined if p.get("pair") and p["score"] >= p["threshold"]]
        return (
            "tsv",
            "".join(f"{pair}\n" for pair in kept),
            "".join(f"{r['reference']}\n" for r in rows if r["reference"]),
        )


def _by_example(outputs: list[Any], features: Any, n: int) -> list[tuple[Any, Any]]:
    embedded: list[tuple[Any, Any]] = [(None, None)] * n
    for out, i in zip(outputs, features["example_index"]):
        embedded[i] = out
    return embedded


def nearest_predictions(
    embedded: list[tuple[Any, Any]],
    examples: list[dict[str, Any]],
    settings: RetrievalSettings,
    device: torch.device | str = "cpu",
) -> list[Any]:
    """Each query-side sentence's nearest other-side sentence, as the id of the example it belongs to."""
    ask, answer = (1, 0) if settings.query == "text_pair" else (0, 1)
    queries = [i for i, e in enumerate(embedded) if e[ask] is not None]
    pool = [i for i, e in enumerate(embedded) if e[answer] is not None]
    predictions: list[Any] = [None] * len(examples)
    if queries and pool:
        found = search.nearest(
            torch.stack([embedded[i][ask] for i in queries]), torch.stack([embedded[i][answer] for i in pool]), device
        )
        for i, j in zip(queries, found):
            predictions[i] = examples[pool[j]]["id"]
    return predictions


def mined_candidates(embedded: list[tuple[Any, Any]], examples: list[dict[str, Any]], device: Any) -> dict:
    """BUCC candidates ``{(src_id, tgt_id): margin score}``, as XTREME's ``mine_bitext`` + ``bucc_eval`` give.

    Source lines are the examples' ``text`` (id: the example's), English lines their ``text_pair`` (id:
    ``target``). Each distinct text is mined once (``text_load_unify``); mined pairs go back to ids through
    the stripped text, and a text on more than one line has no id, so its pairs are dropped
    (``read_sent2id``).
    """
    sides = []
    for side, field, id_of in ((0, "text", "id"), (1, "text_pair", "target")):
        lines = {(e[id_of], e[field]): v[side] for e, v in zip(examples, embedded) if v[side] is not None}
        unique = {text: vector for (_, text), vector in lines.items()}  # the last line of a text, as unify keeps
        ids_of: dict[str, list[str]] = {}
        for line_id, text in lines:
            ids_of.setdefault(text.strip(), []).append(line_id)
        sent2id = {text: ids[0] for text, ids in ids_of.items() if len(ids) == 1}
        sides.append((list(unique), torch.stack(list(unique.values())) if unique else None, sent2id))
    (src_texts, x, src_ids), (tgt_texts, y, tgt_ids) = sides
    candidates: dict[tuple[str, str], float] = {}
    if x is None or y is None:
        return candidates
    for score, i, j in search.mine(x, y, device=device):
        src, tgt = src_texts[i].strip(), tgt_texts[j].strip()
        if src in src_ids and tgt in tgt_ids:
            key = (src_ids[src], tgt_ids[tgt])
            candidates[key] = max(score, candidates.get(key, score))
    return candidates


def _gold(examples: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {tuple(e["gold"].split("\t")) for e in examples if e["gold"]}


def mined_predictions(
    embedded: list[tuple[Any, Any]], examples: list[dict[str, Any]], context: PredictionContext
) -> list:
    """The pair mined for each source sentence, with the threshold tuned on the dev split's gold.

    Evaluating the dev split tunes on itself (the figure XTREME's script logs for dev); evaluating test
    embeds and mines the dev split first, then applies its threshold to test, as XTREME-R prescribes.
    """
    cfg = context.task.cfg
    candidates = mined_candidates(embedded, examples, context.device)
    if context.split == cfg.validation_split:
        threshold = best_threshold(candidates, _gold(examples))
    elif cfg.validation_split is None:
        raise SpecError(
            f"Task {cfg.task!r}: retrieval search 'mine' tunes its threshold on the dev split, and the task has "
            f"none (validation_split: null). Name the dev split in validation_split."
        )
    else:
        dev = context.task.examples(cfg.validation_split, context.data_dir)
        dev_embedded: list[tuple[Any, Any]] = [(None, None)] * len(dev)
        for indices, outputs in context.outputs(dev, f"threshold {context.task.name} on {cfg.validation_split}"):
            for i, out in zip(indices, outputs):
                dev_embedded[i] = out
        threshold = best_threshold(mined_candidates(dev_embedded, dev, context.device), _gold(dev))
    best: dict[str, tuple[str, float]] = {}
    for (src, tgt), score in candidates.items():
        if src not in best or score > best[src][1]:
            best[src] = (tgt, score)
    return [
        {"pair": f"{e['id']}\t{best[e['id']][0]}", "score": best[e["id"]][1], "threshold": threshold}
        if e["text"] is not None and e["id"] in best
        else None
        for e in examples
    ]


def candidate_pool(cfg: TaskConfig, split: str, data_dir: Path | None) -> list[dict[str, Any]]:
    """The candidates of a ``rank`` task, rendered like examples (``id``, ``index``, ``text``)."""
    spec = dict(cfg.retrieval.candidates)
    where = cfg.source.where("retrieval") if cfg.source else cfg.task
    unknown = set(spec) - {"doc_to_id", "doc_to_text", *POOL_SOURCE_KEYS}
    if unknown or "doc_to_id" not in spec or "doc_to_text" not in spec:
        raise SpecError(
            f"{where}: retrieval.candidates needs doc_to_id and doc_to_text and may set {', '.join(POOL_SOURCE_KEYS)}"
            f"{f'; unknown: {sorted(unknown)}' if unknown else ''}."
        )
    to_id, to_text = spec.pop("doc_to_id"), spec.pop("doc_to_text")
    pool_cfg = replace(cfg, **{"process_docs": None, "data_kwargs": {}, **spec})
    docs = load_docs(pool_cfg, split, data_dir)
    return [
        {
            "id": str(render(to_id, doc, where=f"{where}: candidates.doc_to_id")),
            "index": i,
            "text": render(to_text, doc, where=f"{where}: candidates.doc_to_text"),
            "text_pair": None,
            "target": None,
        }
        for i, doc in enumerate(docs)
    ]


def rank(
    queries: torch.Tensor, blocks: Iterable[tuple[torch.Tensor, torch.Tensor]], k: int, ties: str, device: Any
) -> list[list[int]]:
    """Each query's ``k`` best pool positions over blocks of (normalised rows, positions), exactly tied
    candidates in the official order: ``numpy`` (LAReQA's ``argsort()[::-1]``, later first, through negated
    positions) or ``faiss`` (Mewsli-X's ``IndexFlatIP``, from the ``2k`` best; see ``search.faiss_order``)."""
    last, faiss = ties == "numpy", ties == "faiss"
    index = search.TopK(search.normalize(queries), 2 * k if faiss else k, device)
    index.add_all((block, -(ids + 1) if last else ids) for block, ids in blocks)
    found = search.faiss_order(index.scores.cpu(), index.ids.cpu(), k)[1] if faiss else index.ids.cpu()
    return [[-(j + 1) if last else j for j in row] for row in found.tolist()]


def ranked_predictions(
    embedded: list[tuple[Any, Any]], examples: list[dict[str, Any]], context: PredictionContext
) -> list:
    """The ``top_k`` candidate ids of every query, from a running top-k over the embedded pool."""
    cfg = context.task.cfg
    pool = candidate_pool(cfg, context.split, context.data_dir)
    asked = [i for i, e in enumerate(embedded) if e[0] is not None]
    if not asked or not pool:
        return [[] for _ in examples]
    queries = torch.stack([embedded[i][0] for i in asked])
    ranked = rank(queries, pool_embeddings(context, pool), cfg.retrieval.top_k, cfg.retrieval.ties, context.device)
    predictions: list[Any] = [[] for _ in examples]
    for row, i in enumerate(asked):
        predictions[i] = [pool[j]["id"] for j in ranked[row]]
    return predictions
