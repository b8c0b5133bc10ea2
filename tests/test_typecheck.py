"""mypy over harness, harness.noise and harness.adapters with setup.cfg's configuration (plain `mypy` runs the same).

Its cache lives under pytest's, so a rerun checks only what changed (about 2 s; a cold run about 20 s of CPU).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy", reason="mypy is in the test extra: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[1]


def test_packages_typecheck(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    pytest_cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    cache = pytest_cache.mkdir("mypy") if pytest_cache else tmp_path_factory.mktemp("mypy")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache)], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, f"mypy found type errors (run `mypy` in the repository root):\n{result.stdout}"
