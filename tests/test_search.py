"""Exact block-wise search: the running top-k equals brute force, ties go to the first candidate,
and bitext mining follows LASER's / XTREME's mine_bitext step by step."""

from __future__ import annotations

import random

import numpy as np
import torch

from harness import search


def brute_force(queries: torch.Tensor, pool: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores sorted descending, equal scores by pool position (a stable sort of the whole matrix)."""
    scores = queries @ pool.T
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :k]
    return scores.gather(1, order), order


def test_running_topk_equals_brute_force_whatever_the_blocks() -> None:
    torch.manual_seed(0)
    pool = search.normalize(torch.randn(1000, 16))
    pool[500:510] = pool[0]  # exact ties across blocks
    pool[700] = pool[3]
    queries = search.normalize(torch.cat([torch.randn(47, 16), pool[:3]]))
    expected_scores, expected_ids = brute_force(queries, pool, 20)
    order = list(range(len(pool)))
    random.Random(1).shuffle(order)  # blocks arrive in any order, as length-sorted batches do
    index = search.TopK(queries, 20)
    start = 0
    for size in [1, 7, 128, 300, 64, 500]:
        ids = torch.tensor(order[start : start + size])
        index.add(pool[ids], ids)
        start += size
    assert start == len(pool)
    assert torch.equal(index.ids, expected_ids)
    assert torch.allclose(index.scores, expected_scores)


def test_ties_go_to_the_first_candidate() -> None:
    pool = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    assert search.nearest(torch.tensor([[2.0, 0.0]]), pool) == [1]
    index = search.TopK(torch.tensor([[1.0, 0.0]]), 2)
    index.add(pool[2:], torch.tensor([3, 2]))
    index.add(pool[:2], torch.tensor([0, 1]))
    assert index.ids.tolist() == [[1, 2]]


def official_mine(x: np.ndarray, y: np.ndarray, k: int = 4) -> list[tuple[float, int, int]]:
    """XTREME's mine_bitext (retrieval='max', margin='ratio', threshold 0), written out with numpy."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = y / np.linalg.norm(y, axis=1, keepdims=True)
    sim = x @ y.T
    fwd_ind = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    bwd_ind = np.argsort(-sim.T, axis=1, kind="stable")[:, :k]
    fwd_mean = np.take_along_axis(sim, fwd_ind, 1).mean(1)
    bwd_mean = np.take_along_axis(sim.T, bwd_ind, 1).mean(1)
    fwd = np.array([[sim[i, j] / ((fwd_mean[i] + bwd_mean[j]) / 2) for j in fwd_ind[i]] for i in range(len(x))])
    bwd = np.array([[sim[i, j] / ((bwd_mean[j] + fwd_mean[i]) / 2) for i in bwd_ind[j]] for j in range(len(y))])
    fwd_best = fwd_ind[np.arange(len(x)), fwd.argmax(1)]
    bwd_best = bwd_ind[np.arange(len(y)), bwd.argmax(1)]
    pairs = list(zip(range(len(x)), fwd_best)) + list(zip(bwd_best, range(len(y))))
    scores = np.concatenate([fwd.max(1), bwd.max(1)])
    seen_x, seen_y, out = set(), set(), []
    for n in np.argsort(-scores, kind="stable"):
        i, j = pairs[n]
        if i not in seen_x and j not in seen_y:
            seen_x.add(i)
            seen_y.add(j)
            if scores[n] > 0:
                out.append((float(scores[n]), int(i), int(j)))
    return out


def test_mining_follows_the_official_steps() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=(40, 8)).astype(np.float32)
    x = np.concatenate([y[:25] + 0.3 * rng.normal(size=(25, 8)), rng.normal(size=(10, 8))]).astype(np.float32)
    mined = search.mine(torch.from_numpy(x), torch.from_numpy(y))
    expected = official_mine(x.astype(np.float64), y.astype(np.float64))
    assert [(i, j) for _, i, j in mined] == [(i, j) for _, i, j in expected]
    assert np.allclose([s for s, _, _ in mined], [s for s, _, _ in expected], rtol=1e-5)
    assert {(i, i) for i in range(25)} & {(i, j) for _, i, j in mined}  # the planted translations are found
