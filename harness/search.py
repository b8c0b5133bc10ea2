"""Exact similarity search over embeddings, block by block: running top-k and margin-based bitext mining.

google-research/xtreme searches with faiss' exact (flat) indexes; these functions find the same
neighbours with torch, one block of candidates at a time, so that a pool of a million entities
(Mewsli-X) never sits in one matrix and no queries × candidates matrix is ever whole.

Ties (equal scores, e.g. duplicate sentences) go to the candidate that came first, as faiss' flat
search keeps the first of equal neighbours; so results do not depend on the block size or on the
order in which blocks arrive.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

QUERY_CHUNK = 4096
BLOCK = 8192


def normalize(x: torch.Tensor) -> torch.Tensor:
    """Unit-length rows in float32 (faiss.normalize_L2), so inner products are cosines."""
    return torch.nn.functional.normalize(x.float(), dim=-1)


def _first_topk(scores: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k columns of each row, ordered by score then by column; ties at the cut keep the first columns."""
    k = min(k, scores.shape[1])
    values, columns = scores.topk(k, dim=1)
    last = values[:, -1:]
    crossing = (scores == last).sum(1) > (values == last).sum(1)  # a tie that topk cut arbitrarily
    if bool(crossing.any()):
        rows = crossing.nonzero().squeeze(1)
        exact = torch.sort(scores[rows], dim=1, descending=True, stable=True).indices[:, :k]
        columns[rows] = exact
        values[rows] = scores[rows].gather(1, exact)
    return _order(values, columns)


def _order(values: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sort each row by score (descending), equal scores by id (ascending)."""
    ids, perm = ids.sort(dim=1)
    values = values.gather(1, perm)
    values, perm = values.sort(dim=1, descending=True, stable=True)
    return values, ids.gather(1, perm)


class TopK:
    """The running k best candidates of every query, updated one block of candidates at a time.

    Only the queries and ``k`` scores per query are kept; each block is scored against the queries in
    chunks and forgotten. Candidates are named by integer ids (their position in the pool).
    """

    def __init__(self, queries: torch.Tensor, k: int, device: torch.device | str = "cpu") -> None:
        self.queries = queries.to(device, torch.float32)
        self.k = k
        n = len(self.queries)
        self.scores = torch.empty((n, 0), device=self.queries.device)
        self.ids = torch.empty((n, 0), dtype=torch.long, device=self.queries.device)

    def add(self, block: torch.Tensor, ids: torch.Tensor | None = None) -> None:
        """Score a block of candidates (rows); ``ids`` default to positions after the last block."""
        if len(block) == 0:
            return
        if ids is None:
            start = int(self.ids.max()) + 1 if self.ids.numel() else 0
            ids = torch.arange(start, start + len(block))
        ids, perm = ids.to(self.queries.device).sort()  # column order = id order, so ties keep the lower id
        block = block.to(self.queries.device, torch.float32)[perm]
        scores, found = [], []
        for start in range(0, len(self.queries), QUERY_CHUNK):
            values, columns = _first_topk(self.queries[start : start + QUERY_CHUNK] @ block.T, self.k)
            scores.append(values)
            found.append(ids[columns])
        merged = torch.cat([self.scores, torch.cat(scores)], 1), torch.cat([self.ids, torch.cat(found)], 1)
        values, order = _order(*merged)
        self.scores, self.ids = values[:, : self.k], order[:, : self.k]

    def add_all(self, blocks: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> TopK:
        for block, ids in blocks:
            self.add(block, ids)
        return self


def knn(
    queries: torch.Tensor, pool: torch.Tensor, k: int, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` most similar pool rows of each query (inner product), as (scores, indices)."""
    index = TopK(queries, k, device)
    for start in range(0, len(pool), BLOCK):
        index.add(pool[start : start + BLOCK], torch.arange(start, min(start + BLOCK, len(pool))))
    return index.scores.cpu(), index.ids.cpu()


def nearest(queries: torch.Tensor, pool: torch.Tensor, device: torch.device | str = "cpu") -> list[int]:
    """Index of each query's nearest pool row by cosine (XTREME's Tatoeba search)."""
    return knn(normalize(queries), normalize(pool), 1, device)[1][:, 0].tolist()


def mine(
    source: torch.Tensor, target: torch.Tensor, k: int = 4, device: torch.device | str = "cpu"
) -> list[tuple[float, int, int]]:
    """Bitext mining as XTREME's BUCC script does it (LASER's ``mine_bitext``, mode ``mine``).

    Embeddings are of *unique* sentences. Candidates are the ``k`` nearest neighbours in each direction,
    scored by the ratio margin cos(x, y) / ((mean_k(x) + mean_k(y)) / 2); each sentence proposes its best
    candidate in both directions ("max" retrieval); proposals are taken best-first, each source and target
    sentence at most once, keeping scores above 0. Returns (score, source row, target row) best-first.
    """
    x, y = normalize(source), normalize(target)
    fwd_sim, fwd_ind = knn(x, y, min(len(y), k), device)
    bwd_sim, bwd_ind = knn(y, x, min(len(x), k), device)
    fwd_mean, bwd_mean = fwd_sim.mean(1), bwd_sim.mean(1)

    # the knn scores are the cosines of the candidates; the margin divides by both sides' neighbourhoods
    fwd = fwd_sim / ((fwd_mean.unsqueeze(1) + bwd_mean[fwd_ind]) / 2)
    bwd = bwd_sim / ((bwd_mean.unsqueeze(1) + fwd_mean[bwd_ind]) / 2)
    fwd_best = fwd_ind.gather(1, fwd.argmax(1, keepdim=True)).squeeze(1)
    bwd_best = bwd_ind.gather(1, bwd.argmax(1, keepdim=True)).squeeze(1)
    pairs = [(i, int(j)) for i, j in enumerate(fwd_best)] + [(int(i), j) for j, i in enumerate(bwd_best)]
    scores = torch.cat([fwd.max(1).values, bwd.max(1).values]).tolist()
    seen_source, seen_target, mined = set(), set(), []
    for n in sorted(range(len(scores)), key=lambda n: -scores[n]):
        i, j = pairs[n]
        if i not in seen_source and j not in seen_target:
            seen_source.add(i)
            seen_target.add(j)
            if scores[n] > 0:
                mined.append((scores[n], i, j))
    return mined
