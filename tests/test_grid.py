"""Grids as units of work: planned, run by any executor, killed and resumed, shared by concurrent processes.

One small grid (toy target, intermediates none and toyint, clean and typo) is run once, uninterrupted, by the
local executor; every other way of running it must give the same records (timings aside).
"""

from __future__ import annotations

import configparser
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

import harness.cli as cli_module
from harness.adapters.store import ArtefactStore
from harness.cli import cli
from harness.models import TINY_CORPUS
from harness.paths import host_name

GRID_YAML = """\
tasks: [toy, toytag]
intermediate: [none, toyint]
noise: typo:0.1,drop:0.1
seeds: [1, 2]
include-path: {tasks}
data-dir: {data}
model: tiny
limit: 4
max-train-examples: 8
epochs: 1
"""


def grid_args(model: Path, out: Path) -> list[str]:
    """7 units: train toyint, train toy on none and on toyint, score en and de, clean and typo, under both."""
    return ["run", "--tasks", "toy", "--include-path", str(FIXTURES / "tasks"), "--data-dir", str(FIXTURES / "data"),
            "--model", str(model), "--intermediate", "none,toyint", "--noise", "typo:0.1", "--limit", "8",
            "--max-train-examples", "32", "--epochs", "1", "--batch-size", "8", "--output", str(out),
            "--adapter-dir", str(out / "store")]  # fmt: skip


def invoke(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def records(out: Path) -> dict[str, dict]:
    """Every record, less what differs between runs by design: when, how long, and whether a model was reused."""
    found = {}
    for path in (out / "records").glob("*.json"):
        record = json.loads(path.read_text())
        record.pop("created"), record.pop("timings")
        record["artefact"] = {k: v for k, v in record["artefact"].items() if k not in ("reused", "seconds")}
        record["artefact"]["train_stats"].pop("seconds")
        found[path.stem] = record
    return found


def predictions(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (out / "predictions").glob("*.jsonl")}


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Every run of this module on one torch thread, as in its forked and Ray worker processes: training's float
    sums (the recorded losses) depend on the thread count, and the runs are compared to the last bit."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def reference(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reference")
    invoke(grid_args(tiny_model_dir, out))
    assert len(records(out)) == 9  # 4 cells × 2 models, and toyint's own dev score
    return out


def assert_same_results(out: Path, reference: Path) -> None:
    assert records(out) == records(reference)
    assert predictions(out) == predictions(reference)
    assert not list(out.rglob("*.lock")), "a finished grid leaves no lock behind"


# -- planning ----------------------------------------------------------------------------------------------------


def test_dry_run_lists_every_unit_of_a_grid_file_and_flags_override_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(cli_module.console, "_width", 200)  # one line per unit
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID_YAML.format(tasks=FIXTURES / "tasks", data=FIXTURES / "data"))
    out = invoke(["run", "--config", str(grid), "--output", str(tmp_path / "o"), "--adapter-dir",
                  str(tmp_path / "s"), "--dry-run"])  # fmt: skip
    # per seed: 1 intermediate + 2 tasks × 2 stages targets + 2 tasks × 2 languages × 3 conditions cells
    assert "Plan: 34 units" in out and "0 of 34 units done" in out
    assert out.count("train toyint (full, seed 1)") == 1 and "train toytag on toyint (full, seed 2)" in out
    assert "eval toytag_de@drop:0.1 ×2 (full, seed 2)" in out
    assert not (tmp_path / "o").exists() and not (tmp_path / "s").exists()  # a dry run writes nothing
    fewer = invoke(["run", "--config", str(grid), "--seeds", "3", "--method", "lora", "--output",
                    str(tmp_path / "o"), "--dry-run"])  # fmt: skip
    assert "Plan: 17 units" in fewer and "(lora, seed 3)" in fewer and "seed 1" not in fewer


def test_unknown_key_in_a_grid_file_names_the_file_and_line(tmp_path: Path) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text("tasks: [toy]\nseeds: [1, 2]\nnoize: typo:0.1\n")
    result = CliRunner().invoke(cli, ["run", "--config", str(grid), "--dry-run"])
    assert result.exit_code != 0
    assert f"{grid}:3: unknown key 'noize'" in result.output and "noise" in result.output


def test_the_tiny_base_does_not_depend_on_the_tasks_a_process_runs(tmp_path: Path) -> None:
    from harness.pipeline import RunConfig, Runner

    def base(tasks: list[str]) -> str:
        config = RunConfig(tasks=tasks, model="tiny", include_paths=[FIXTURES / "tasks"], data_dir=FIXTURES / "data",
                           output=tmp_path)  # fmt: skip
        return Runner(config).prepare().base_id.fingerprint

    assert base(["toy"]) == base(["toytag"])
    setup = configparser.ConfigParser()
    setup.read(FIXTURES.parent.parent / "setup.cfg")
    shipped = [p.strip() for p in setup["options.package_data"]["harness"].split(",")]
    assert any(TINY_CORPUS.relative_to(TINY_CORPUS.parents[1]).match(p) for p in shipped), "pip install must ship it"


# -- killed and resumed ----------------------------------------------------------------------------------------


def _main(args: list[str], log: str) -> None:
    import torch

    torch.set_num_threads(1)  # OpenMP's thread pool does not survive a fork (DataLoader workers do the same)
    sys.stderr = open(log, "w", buffering=1)  # noqa: SIM115 (the process ends with the run)
    cli.main(args, prog_name="harness")


def harness(args: list[str], log: Path) -> multiprocessing.process.BaseProcess:
    """``harness ARGS`` in a process of its own: forked from this one, so it starts without importing torch again
    (DataLoader workers are forked the same way); its stderr goes to ``log``."""
    proc = multiprocessing.get_context("fork").Process(target=_main, args=(args, str(log)))
    proc.start()
    return proc


def kill_when(args: list[str], ready: Callable[[], bool], sig: int, log: Path) -> None:
    """Run ``harness`` in a process of its own and send ``sig`` as soon as ``ready()``; it must not finish first."""
    proc = harness(args, log)
    while proc.is_alive() and not ready():
        time.sleep(0.01)
    assert proc.is_alive(), "the run finished before the kill point: " + log.read_text()
    os.kill(proc.pid, sig)  # type: ignore[arg-type]
    proc.join(60)
    assert proc.exitcode != 0


def snapshot(out: Path) -> dict[str, object]:
    """Finished outputs as they are now: records byte for byte, artefacts by their content hash and birth."""
    found: dict[str, object] = {p.name: p.read_bytes() for p in (out / "records").glob("*.json")}
    store = ArtefactStore(out / "store")
    for key in store.keys():
        meta = store.verify(key)  # nothing that looks finished is half-written
        found[key] = (meta["content_hash"], meta["created"])
    return found


def test_a_grid_killed_at_any_point_finishes_on_rerun_with_identical_results(tiny_model_dir, reference, tmp_path):
    out = tmp_path / "killed"
    args = grid_args(tiny_model_dir, out)
    locks = {"train": out / "store" / ".locks", "eval": out / "records" / ".locks"}
    kill_points = [
        (lambda: any(locks["train"].glob("*.lock")), signal.SIGKILL),  # while a stage trains
        (lambda: any(locks["eval"].glob("*.lock")), signal.SIGINT),  # while a cell is scored
        (lambda: len(list((out / "records").glob("*.json"))) >= 4, signal.SIGKILL),  # while records are written
    ]
    before: dict[str, object] = {}
    for i, (ready, sig) in enumerate(kill_points):
        kill_when(args, ready, sig, tmp_path / f"{i}.log")
        now = snapshot(out)
        assert {k: now[k] for k in before} == before, "a finished unit was recomputed"
        before = now
    assert 0 < len(before) < 9 + 3
    invoke(args)
    after = snapshot(out)
    assert {k: after[k] for k in before} == before
    assert_same_results(out, reference)


# -- several processes, Ray, SLURM -------------------------------------------------------------------------------


def test_two_processes_on_one_grid_train_every_stage_once_and_score_every_cell_once(tiny_model_dir, reference,
                                                                                    tmp_path):  # fmt: skip
    out = tmp_path / "shared"
    procs = [harness(grid_args(tiny_model_dir, out), tmp_path / f"{i}.log") for i in range(2)]
    for proc in procs:
        proc.join(300)
    logs = [(tmp_path / f"{i}.log").read_text() for i in range(2)]
    assert [proc.exitcode for proc in procs] == [0, 0], logs
    log = "".join(logs)
    assert log.count("trained full") == 3, log  # toyint, toy on none, toy on toyint
    computed = [line for line in log.splitlines() if line.startswith("[") and " eval " in line]
    assert len([line for line in computed if "done by another process" not in line]) == 4, log
    assert_same_results(out, reference)


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # workers inherit this offline environment
    yield ray
    ray.shutdown()


def test_ray_executor_gives_the_local_records_even_when_a_worker_is_killed(tiny_model_dir, reference, ray_cluster,
                                                                           tmp_path):  # fmt: skip
    invoke([*grid_args(tiny_model_dir, tmp_path / "ray"), "--executor", "ray", "--workers", "2"])
    assert_same_results(tmp_path / "ray", reference)

    out, killed = tmp_path / "ray-killed", []

    def kill_a_worker() -> None:  # the first worker seen holding a lock (training a stage or scoring a cell)
        deadline = time.time() + 120
        while not killed and time.time() < deadline:
            for lock in [*out.glob("store/.locks/*.lock"), *out.glob("records/.locks/*.lock")]:
                try:
                    pid = json.loads(lock.read_text())["pid"]
                except (OSError, ValueError):
                    continue
                if pid != os.getpid():
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    break
            time.sleep(0.01)

    watcher = threading.Thread(target=kill_a_worker)
    watcher.start()
    invoke([*grid_args(tiny_model_dir, out), "--executor", "ray", "--workers", "2"])
    watcher.join()
    assert killed, "no worker was killed"
    assert_same_results(out, reference)


def test_the_grid_file_runs_on_the_tiny_model_with_ray(ray_cluster, tmp_path: Path, monkeypatch) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID_YAML.format(tasks=FIXTURES / "tasks", data=FIXTURES / "data"))
    args = ["run", "--config", str(grid), "--output", str(tmp_path), "--adapter-dir", str(tmp_path / "store")]
    invoke([*args, "--executor", "ray", "--workers", "2"])
    assert len(records(tmp_path)) == 2 * (2 * 2 * 3 * 2 + 1)  # seeds × (tasks × languages × conditions × models + dev)
    monkeypatch.setattr(cli_module.console, "_width", 200)
    assert "34 of 34 units done" in invoke([*args, "--dry-run"])


def test_slurm_executor_runs_job_arrays_through_submitit(tiny_model_dir, reference, tmp_path) -> None:
    pytest.importorskip("submitit")
    out = tmp_path / "slurm"
    invoke([*grid_args(tiny_model_dir, out), "--executor", "slurm", "--slurm-cluster", "debug"])
    assert_same_results(out, reference)
    assert (out / "slurm").is_dir()  # submitit's job folder: pickled units and logs


def test_a_lock_is_waited_for_while_its_owner_lives_and_taken_over_when_it_is_abandoned(tmp_path: Path) -> None:
    from harness import locks

    path = tmp_path / "unit.lock"
    other_host = {"host": "elsewhere", "pid": 1, "token": "x", "since": 0}
    path.write_text(json.dumps(other_host))
    entered: list[float] = []

    def take() -> None:
        with locks.claim(path):
            entered.append(time.time())

    worker = threading.Thread(target=take)
    worker.start()
    time.sleep(0.5)
    assert not entered, "a live owner's lock (fresh heartbeat) is waited for"
    old = time.time() - locks.STALE_S - 1
    os.utime(path, (old, old))  # the owner's heartbeat stopped: its machine died
    worker.join(10)
    assert entered and not path.exists()
    path.write_text(json.dumps({**other_host, "host": host_name(), "pid": 2**22 + 12345}))
    take()  # a dead pid on this host: taken over at once
    assert len(entered) == 2 and not path.exists()


def test_a_missing_executor_package_says_which_extra_to_install(monkeypatch) -> None:
    from harness import executors
    from harness.errors import HarnessError

    real = executors.importlib.import_module
    monkeypatch.setattr(executors.importlib, "import_module", lambda name: real(f"{name}_is_not_installed"))
    with pytest.raises(HarnessError, match=r"""needs the 'submitit' package.*pip install -e "\.\[slurm\]\""""):
        executors.optional("submitit", "slurm")
