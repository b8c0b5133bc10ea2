"""Shared test fixtures: an offline environment, a tiny XLM-R, small task fixtures.

Every test runs offline: hub access is switched off and all caches point into a
temporary folder, so nothing leaks between test runs or into the user's cache.
The tiny model (hidden size 32, 2 layers) is built from a config with a
tokenizer trained at test time, saved to a temporary folder and loaded through
the same ``from_pretrained`` path as a real model.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

_CACHE = Path(tempfile.mkdtemp(prefix="harness-tests-"))
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)  # each run has its own; none outlives it
os.environ["HARNESS_CACHE"] = str(_CACHE / "harness")
os.environ["HF_HOME"] = str(_CACHE / "hf")
os.environ["HF_DATASETS_CACHE"] = str(_CACHE / "hf-datasets")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = Path(os.environ.get("HARNESS_SHARED_DATA", REPO.parent / "shared" / "data"))  # a clone elsewhere: set it

from harness.models import TinySize, build_tiny, quiet_transformers  # noqa: E402

quiet_transformers()

#: the size every test model has (the guide's "hidden size 32, 2 layers")
TEST_SIZE = TinySize(hidden_size=32, layers=2, heads=2, vocab_size=2000)


def fixture_corpus() -> list[str]:
    """Multilingual text for the test tokenizer: the toy task plus a line per script."""
    lines = (FIXTURES / "corpus.txt").read_text(encoding="utf-8").splitlines()
    for path in sorted((FIXTURES / "data" / "toy").glob("*.tsv")):
        lines += [line.replace("\t", " ") for line in path.read_text(encoding="utf-8").splitlines()]
    return lines


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """A saved tiny XLM-R (weights + tokenizer) that loads with ``from_pretrained``."""
    return build_tiny(fixture_corpus(), TEST_SIZE)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real XTREME-R files of ../shared/data; tests using them skip cleanly without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture
def toy_tasks() -> Path:
    return FIXTURES / "tasks"


@pytest.fixture
def toy_data() -> Path:
    return FIXTURES / "data"
