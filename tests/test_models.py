"""The base model: the tiny smoke preset is reproducible and loads like any local model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import ModelError
from harness.models import load_base, resolve_device, resolve_dtype

BUILD = """
import hashlib, sys
sys.path.insert(0, {tests!r})
import conftest
from harness.models import build_tiny
path = build_tiny(conftest.fixture_corpus(), conftest.TEST_SIZE)
print(hashlib.sha256((path / "tokenizer.json").read_bytes()).hexdigest())
"""


def test_tiny_preset_is_identical_across_processes(tmp_path: Path) -> None:
    """The Unigram trainer is not deterministic by itself; the canonicalised vocabulary is."""
    tests = str(Path(__file__).parent)
    digests = set()
    for i in range(2):
        env = {"HARNESS_CACHE": str(tmp_path / str(i)), "PATH": "/usr/bin:/bin", "TOKENIZERS_PARALLELISM": "true"}
        out = subprocess.run(
            [sys.executable, "-c", BUILD.format(tests=tests)], env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip().splitlines()[-1])
    assert len(digests) == 1


def test_tiny_model_loads_through_from_pretrained(tiny_model_dir: Path) -> None:
    base = load_base(str(tiny_model_dir))
    assert base.hidden_size == 32 and not base.smoke
    assert base.encoder.config._attn_implementation == "sdpa"
    ids = base.tokenizer("नदी के किनारे 河边那只懒狗", "second")["input_ids"]
    assert ids[0] == base.tokenizer.bos_token_id and base.tokenizer.unk_token_id not in ids
    assert base.fingerprint == load_base(str(tiny_model_dir)).fingerprint  # a content hash of the folder


def test_devices_and_dtypes() -> None:
    cpu = resolve_device("cpu")
    assert resolve_dtype("auto", cpu).is_floating_point and str(resolve_dtype("bf16", cpu)) == "torch.bfloat16"
    with pytest.raises(ModelError, match="--dtype 'half'"):
        resolve_dtype("half", cpu)
    with pytest.raises(ModelError, match="not a device"):
        resolve_device("gpu0")
