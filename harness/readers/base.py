"""The reader registry, apart from the package's ``__init__`` (which imports the reader modules to register
them), so that a reader module imports it without importing the package that imports it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import datasets

from ..errors import DataError
from ..plugins import Registry

Reader = Callable[..., datasets.Dataset]


def _reader(obj: Any) -> Reader:
    if not callable(obj):
        raise TypeError("a reader is a function reader(files, **data_kwargs) -> datasets.Dataset")
    return obj


#: the readers a spec's ``data_format`` names; a plugin adds one with ``@register_reader("name")``
READERS: Registry[Reader] = Registry("data_format", DataError, _reader)


def register_reader(name: str) -> Callable[[Reader], Reader]:
    """Register a local-file reader: ``reader(files, **data_kwargs) -> Dataset``."""

    def wrap(fn: Reader) -> Reader:
        READERS.add(name, fn)
        return fn

    return wrap
