"""Sweeps on a real Dask distributed cluster: same rows as a local run, survive a killed worker."""
import contextlib
import os
import signal
import threading
import time

import pytest
from click.testing import CliRunner

from irrepro.executors import DaskExecutor
from irrepro.units import run_units
from simulator.cli import main
from simulator.sweep import expand, merge_shards, units_for

distributed = pytest.importorskip("distributed")

CONFIG = {"name": "dist",
          "base": {"pairs": 2, "examples": 2 ** 11, "eval_examples": 2 ** 9, "checkpoints": 1,
                   "model": "2"},
          "grid": [{"activation": ["identity", "relu"], "window": [1, 4, 16]}]}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        yield cluster


def local_result(tmp_path):
    out = tmp_path / "local"
    run_units(units_for(expand(CONFIG), out))
    return merge_shards(out, "dist").read_bytes()


def test_a_distributed_sweep_equals_the_local_one_row_for_row(tmp_path, cluster):
    out = tmp_path / "dask"
    with DaskExecutor(scheduler=cluster.scheduler_address) as executor:
        assert run_units(units_for(expand(CONFIG), out), executor) == 6
    assert merge_shards(out, "dist").read_bytes() == local_result(tmp_path)


def test_a_killed_worker_leaves_no_partial_shard_and_a_rerun_completes(tmp_path, cluster):
    out = tmp_path / "killed"
    units = units_for(expand(CONFIG), out)
    with DaskExecutor(scheduler=cluster.scheduler_address) as executor:
        pids = list(executor.client.run(os.getpid).values())

        def kill_one_when_started():
            deadline = time.time() + 120
            while not (out / "shards").exists() and time.time() < deadline:
                time.sleep(0.05)
            os.kill(pids[0], signal.SIGKILL)

        killer = threading.Thread(target=kill_one_when_started)
        killer.start()
        # The sweep may fail with the worker; re-running must complete it.
        with contextlib.suppress(Exception):
            run_units(units, executor)
        killer.join()
    # Whatever shards exist after the kill are complete: byte-equal to the local run's. (A
    # killed writer may leave a hidden .tmp file, which is never read as a shard.)
    local = tmp_path / "local"
    run_units(units_for(expand(CONFIG), local))
    for shard in (out / "shards").glob("*.csv"):
        assert shard.read_bytes() == (local / "shards" / shard.name).read_bytes()
    cluster.scale(2)
    with DaskExecutor(scheduler=cluster.scheduler_address) as executor:
        run_units(units, executor)
    assert all(u.done() for u in units)
    assert merge_shards(out, "dist").read_bytes() == local_result(tmp_path)


def test_an_unreachable_scheduler_is_a_quick_one_line_error(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("name: c\nbase: {pairs: 1, examples: 2^8}\n")
    start = time.time()
    result = CliRunner().invoke(main, ["sweep", str(config), "--out", str(tmp_path / "o"),
                                       "--scheduler", "tcp://127.0.0.1:9"])
    assert time.time() - start < 15
    assert result.exit_code == 2
    assert result.output.startswith("simctl: error: cannot reach the Dask scheduler at "
                                    "tcp://127.0.0.1:9")


def test_workers_flag_starts_a_local_cluster(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("name: c\nbase: {pairs: 1, examples: 2^8, eval_examples: 2^8, "
                      "checkpoints: 1}\ngrid: [{window: [1, 2]}]\n")
    result = CliRunner().invoke(main, ["sweep", str(config), "--out", str(tmp_path / "o"),
                                       "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "ran 2 of 2 settings" in result.output


def test_an_image_sweep_through_dask_equals_the_local_one(tmp_path, cluster):
    from image_experiments.sweep import run_sweep
    from image_experiments.sweep_config import load_sweep

    sweep = load_sweep("digits", {"strategies": (3e-3,), "regime": "lr", "variants": 2},
                       smoke=True)
    with DaskExecutor(scheduler=cluster.scheduler_address) as executor:
        dask = run_sweep(sweep, tmp_path / "dask", executor=executor, progress=False)
    local = run_sweep(sweep, tmp_path / "local", progress=False)
    assert dask.units_run == local.units_run == 1 and dask.probes_run == 1
    for level in ("variants", "strategies", "pairs"):
        assert dask.written[level].read_bytes() == local.written[level].read_bytes()


@pytest.mark.parametrize("where", ["flag", "config"])
def test_imgctl_with_an_unreachable_scheduler_is_a_quick_one_line_error(tmp_path, where):
    from image_experiments.cli import main as imgctl

    args = ["sweep", "digits", "--smoke", "--out", str(tmp_path / "o")]
    if where == "flag":
        args += ["--scheduler", "tcp://127.0.0.1:9"]
    else:
        config = tmp_path / "digits.yaml"
        config.write_text("dataset: digits\nscheduler: tcp://127.0.0.1:9\n")
        args[1] = str(config)
    start = time.time()
    result = CliRunner().invoke(imgctl, args)
    assert time.time() - start < 15
    assert result.exit_code == 2
    assert result.output.splitlines()[-1].startswith(
        "imgctl: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
