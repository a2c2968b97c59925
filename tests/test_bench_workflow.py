"""The bench_cnn rule through real Snakemake: a CPU job writes its files; GPU jobs carry their device's resources."""
from __future__ import annotations

import copy
import re

import pandas as pd
import pytest

from workflow import snakemake, write_config

pytestmark = pytest.mark.slow

JOB = "results/bench/cnn/{device}/resnet18__{backend}__{precision}.parquet"


@pytest.fixture()
def workdir(tmp_path, base_config):
    cfg = copy.deepcopy(base_config)
    cfg["bench"]["devices"] = ["cpu", "l4"]
    cnn = cfg["bench"]["suites"]["cnn"]
    cnn["timing"] = {"warmup": 1, "min_iterations": 3, "max_iterations": 9, "round_iterations": 3,
                     "stable_rounds": 2, "rel_spread": 0.5, "time_budget_s": 0.5}
    cnn["cpu"]["batch_sizes"] = [1, 2]
    write_config(tmp_path, cfg)
    return tmp_path


def test_bench_cnn_job_runs_through_snakemake(workdir):
    target = JOB.format(device="cpu", backend="torch_eager", precision="fp32")
    res = snakemake(workdir, target, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    df = pd.read_parquet(workdir / target)
    assert list(zip(df.batch_size, df.status)) == [(1, "ok"), (2, "ok")]
    assert set(df.device) == {"cpu"} and set(df.torch_threads_used) == {2}
    assert (workdir / target.replace(".parquet", ".json")).exists()
    assert (workdir / "results/logs/bench_cnn/cpu/resnet18__torch_eager__fp32.log").exists()
    again = snakemake(workdir, "-n", target)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_gpu_jobs_carry_the_device_resources(workdir):
    target = JOB.format(device="l4", backend="torch_eager", precision="fp16")
    res = snakemake(workdir, "-n", target)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    line = re.search(r"resources: (.*)", res.stdout + res.stderr).group(1)
    resources = dict(kv.split("=", 1) for kv in line.split(", "))
    assert {k: resources[k] for k in ("gpu", "gpu_model", "slurm_partition", "runtime", "mem_mb", "cpus_per_task")} == {
        "gpu": "1", "gpu_model": "l4", "slurm_partition": "l4", "runtime": "60", "mem_mb": "16000", "cpus_per_task": "4"}


def test_unknown_bench_device_stops_the_workflow(workdir, base_config):
    cfg = copy.deepcopy(base_config)
    cfg["bench"]["devices"] = ["cpu", "a100"]
    write_config(workdir, cfg)
    res = snakemake(workdir, "-n")
    assert res.returncode != 0
    assert "'bench.devices': 'a100' has no entry under devices" in res.stdout + res.stderr
