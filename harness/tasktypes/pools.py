"""Retrieval's two shortcuts: stop the encoder at the layer it pools, and embed a candidate pool once.

XTREME-R pools layer 14 of XLM-R Large's 24: the ten layers above it cost 40% of every
retrieval forward pass and change nothing that is read, so evaluation runs the stack cut
after that layer. A ``rank`` task's candidate pool (Mewsli-X: about a million entities)
is the same for every language and noise condition of a task (noise touches the queries
only), so its normalised embeddings are kept on disk under a key of everything they
depend on (the model, the tokenizer, the maximum length, the retrieval settings and the
pool's own ids and texts) and read back instead of re-embedding the pool per cell.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import torch
from safetensors import safe_open
from safetensors.torch import save
from torch import nn

from .. import search
from ..models import tokenizer_fingerprint
from ..paths import cache_root, write_atomic
from ..spec import stable_hash

if TYPE_CHECKING:
    from .context import PredictionContext

#: bump when what an embedding is (pooling, normalisation) changes, so cached pools are not reused
POOL_VERSION = 1


def layer_stack(encoder: nn.Module) -> nn.Module | None:
    """The module holding the transformer layers as ``.layer`` (XLM-R's ``encoder.encoder``), through any wrapper."""
    for module in encoder.modules():
        if isinstance(getattr(module, "layer", None), nn.ModuleList):
            return module
    return None


@contextlib.contextmanager
def layers_up_to(encoder: nn.Module, layer_index: Callable[[int], int], enabled: bool = True) -> Iterator[bool]:
    """Run ``encoder`` only up to hidden state ``layer_index(n_layers)`` inside the block; yields whether it
    could (else the caller reads that layer from all hidden states).

    The stack's layer list is swapped for its first layers and put back on the way out,
    so adapters injected into those layers keep working and nothing is copied.
    """
    stack = layer_stack(encoder) if enabled else None
    if stack is None:
        yield False
        return
    layers = stack.layer
    assert isinstance(layers, nn.ModuleList)
    n = len(layers)
    keep = layer_index(n)
    stack.layer = layers[: keep if keep >= 0 else keep + n + 1]
    try:
        yield True
    finally:
        stack.layer = layers


def pool_key(context: PredictionContext, pool: list[dict[str, Any]]) -> str | None:
    """The content key of a pool's embeddings under the context's model; None when the model has no key."""
    if getattr(context, "model_key", None) is None:  # a context made elsewhere may not name its model
        return None
    settings = asdict(context.task.cfg.retrieval)
    settings.pop("candidates")  # where the pool came from: its content below is what counts
    contents = [[c["id"], c["text"]] for c in pool]
    return stable_hash(
        [
            POOL_VERSION,
            context.model_key,
            tokenizer_fingerprint(context.tokenizer),
            context.max_length,
            settings,
            stable_hash(contents, 32),
        ],  # fmt: skip
        24,
    )


def pool_embeddings(
    context: PredictionContext, pool: list[dict[str, Any]]
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Normalised embeddings of the pool's candidates with their pool positions, block by block.

    Read from the cache when this model embedded this exact pool before; else embedded
    (one forward pass over the pool) and written to the cache whole, atomically. Both
    ways give the same blocks, so the search sums the same products in the same order.
    """
    key = pool_key(context, pool)
    path = cache_root() / "pool-embeddings" / f"{key}.safetensors"
    if key is not None and path.exists():
        with safe_open(str(path), framework="pt") as cached:
            stored, positions = cached.get_slice("vectors"), cached.get_tensor("ids")
            for start in range(0, len(positions), search.BLOCK):
                yield stored[start : start + search.BLOCK], positions[start : start + search.BLOCK]
        return
    blocks: list[tuple[torch.Tensor, torch.Tensor]] = []
    vectors: list[torch.Tensor] = []
    ids: list[int] = []
    for indices, outputs in context.outputs(pool, f"rank {context.task.name} candidates"):
        embedded = [(i, out[0]) for i, out in zip(indices, outputs) if out[0] is not None]
        vectors += [vector for _, vector in embedded]
        ids += [i for i, _ in embedded]
        while len(vectors) >= search.BLOCK:  # blocks of exactly BLOCK rows, as the cache is read back: same sums
            blocks.append((search.normalize(torch.stack(vectors[: search.BLOCK])), torch.tensor(ids[: search.BLOCK])))
            yield blocks[-1]
            vectors, ids = vectors[search.BLOCK :], ids[search.BLOCK :]
    if vectors:
        blocks.append((search.normalize(torch.stack(vectors)), torch.tensor(ids)))
        yield blocks[-1]
    if key is not None and blocks:
        write_atomic(
            path, save({"vectors": torch.cat([b for b, _ in blocks]), "ids": torch.cat([i for _, i in blocks])})
        )
