"""The reader registry, apart from the package's ``__init__`` (which imports the reader modules to register
them), so that a reader module imports it without importing the package that imports it."""

from __future__ import annotations

from collections.abc import Callable

import datasets

Reader = Callable[..., datasets.Dataset]
READERS: dict[str, Reader] = {}


def register_reader(name: str) -> Callable[[Reader], Reader]:
    """Register a local-file reader: ``reader(files, **data_kwargs) -> Dataset``."""

    def wrap(fn: Reader) -> Reader:
        READERS[name] = fn
        return fn

    return wrap
