"""Devices accumulate: a run on one device entry, then a run on another, leaves both devices' rows in the
warehouse (as `--profile slurm-l4` then `--profile slurm-t4` would); a half-written file is never loaded.
The first run's own config file holds only `studies` (the rest are the defaults)."""
from __future__ import annotations

import json
import shutil
import subprocess

import duckdb
import pytest
import yaml

from workflow import ROOT, SNAKEMAKE

pytestmark = pytest.mark.slow

STUDY = {"studies": {"mine": {"question": "How fast is ResNet-18 FP32 inference with PyTorch on an x86 server CPU?",
                              "suites": ["cnn"]}}}
# Small grids so the two runs take about a minute each on 2 cores (a second overlay file, so the study file
# stays a file with only `studies`).
SMALL = {
    "embeddings": {"backend": "none"},
    "tribunal": {"requery_max": 0},
    "report": {"images": False},
    "bench": {"suites": {
        "cnn": {"timing": {"warmup": 1, "min_iterations": 3, "max_iterations": 6, "round_iterations": 3,
                           "stable_rounds": 2, "rel_spread": 0.5, "time_budget_s": 0.3},
                "cpu": {"models": ["resnet18"], "batch_sizes": [1], "backends": {"torch_eager": ["fp32"]}}},
        "moe_routing": {"cpu": {"strategies": ["topk1"], "workloads": ["vqav2"], "phases": ["decode"],
                                "dispatches": ["loop"], "batch_sizes": [1]}}}},
}


def _run(workdir, *files):
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--cores", "2",
           "--configfiles", *[str(workdir / f) for f in files]]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=workdir)


def _write(path, data):
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _devices(db):
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("SELECT device, count(*) FROM bench_results GROUP BY device").fetchall())


def test_second_device_run_keeps_the_first_devices_rows(tmp_path):
    _write(tmp_path / "mine.yaml", STUDY)
    _write(tmp_path / "small.yaml", SMALL)
    first = _run(tmp_path, "mine.yaml", "small.yaml")
    assert first.returncode == 0, first.stderr[-4000:]
    db = tmp_path / "results" / "sovereign.duckdb"
    assert set(_devices(db)) == {"cpu"}
    assert (tmp_path / "results" / "report" / "mine.html").exists()
    assert not (tmp_path / "results" / "gpu").exists()  # the default studies did not run
    # one closing summary: the study's decision, score, answer and report
    summary = first.stdout[first.stdout.index("sovereign: run summary"):]
    decision = json.loads((tmp_path / "results/mine/verdict.json").read_text())["decision"]
    assert f"mine: {decision} (score " in summary and "  answer: " in summary
    assert "report: results/report/mine.html" in summary

    # an interrupted job of a third device: its rows file without the report written after it
    half = tmp_path / "results" / "bench" / "cnn" / "cpu_half"
    half.mkdir(parents=True)
    shutil.copy(tmp_path / "results/bench/cnn/cpu/resnet18__torch_eager__fp32.parquet", half)

    # the same CPU measured under another device name: only that device is benchmarked in this run
    _write(tmp_path / "other.yaml", {"devices": {"cpu_b": {"kind": "cpu"}}, "bench": {"devices": ["cpu_b"]}})
    second = _run(tmp_path, "mine.yaml", "small.yaml", "other.yaml")
    assert second.returncode == 0, second.stderr[-4000:]
    assert "device=cpu\n" not in second.stdout + second.stderr  # cpu was not measured again
    rows = _devices(db)
    assert set(rows) == {"cpu", "cpu_b"}, rows  # both devices, not the half-written one
    assert rows["cpu"] == rows["cpu_b"]
