"""The harness's parts: timing loop, statistics, result rows, device check, OOM recognition, config checks."""
from __future__ import annotations

import copy
import time

import pytest
import yaml

from sovereign.bench.config import CnnGrid, DeviceSpec, cnn_jobs, job_params
from sovereign.bench.env import collect_env, verify_device
from sovereign.bench.errors import BenchConfigError, DeviceMismatchError
from sovereign.bench.memory import is_oom
from sovereign.bench.result import CONTRACT_COLUMNS, BenchResult
from sovereign.bench.tracker import LatencyStats, LatencyTracker, TimingConfig, measure
from sovereign.config import validate_config
from sovereign.errors import ConfigError
from sovereign.warehouse import CONTRACT


@pytest.fixture()
def config(root):
    import sovereign.bench.checks  # noqa: F401  registers the bench checks

    return copy.deepcopy(yaml.safe_load((root / "config" / "config.yaml").read_text()))


def test_stats_from_known_samples():
    st = LatencyStats.from_samples([float(i) for i in range(1, 101)], wall_s=10.0)
    assert (st.median_ms, round(st.p90_ms, 6), round(st.p99_ms, 6), st.mean_ms, st.iterations) == (50.5, 90.1, 99.01, 50.5, 100)
    assert st.throughput_ips(8) == pytest.approx(8 / 0.0505)
    assert st.throughput_wall_ips(8) == pytest.approx(8 * 100 / 10.0)


def test_measure_stops_when_stable():
    st = measure(lambda: time.sleep(0.002), TimingConfig(warmup=2, min_iterations=20, round_iterations=10,
                                                         rel_spread=0.5, time_budget_s=5))
    assert st.stop_reason == "stable" and st.stable
    assert 20 <= st.iterations <= 60
    assert 2.0 <= st.median_ms < 10.0
    assert st.spread <= 0.5
    assert st.wall_s >= st.iterations * 0.002


def test_measure_caps_iterations_when_never_stable():
    cfg = TimingConfig(warmup=0, min_iterations=5, max_iterations=25, round_iterations=5, rel_spread=1e-12,
                       time_budget_s=30)
    st = measure(lambda: sum(range(2000)), cfg)
    assert (st.stop_reason, st.stable, st.iterations) == ("max_iterations", False, 25)


def test_measure_respects_time_budget():
    st = measure(lambda: time.sleep(0.05), TimingConfig(warmup=0, min_iterations=100, max_iterations=1000,
                                                        time_budget_s=0.2))
    assert st.stop_reason == "time_budget" and not st.stable
    assert 3 <= st.iterations <= 6


def test_tracker_records_one_sample_per_block():
    tr = LatencyTracker("cpu")
    for _ in range(3):
        with tr:
            time.sleep(0.001)
    assert len(tr.samples_ms) == 3 and min(tr.samples_ms) >= 1.0


@pytest.mark.parametrize("kwargs, key", [
    ({"warmup": -1}, "warmup"),
    ({"min_iterations": 0}, "min_iterations"),
    ({"min_iterations": 50, "max_iterations": 10}, "max_iterations"),
    ({"stable_rounds": 1}, "stable_rounds"),
    ({"rel_spread": 0}, "rel_spread"),
    ({"time_budget_s": -2}, "time_budget_s"),
])
def test_timing_config_names_the_bad_key(kwargs, key):
    with pytest.raises(BenchConfigError, match=key):
        TimingConfig(**kwargs)


def test_result_row_has_the_warehouse_contract_first():
    st = LatencyStats.from_samples([2.0, 2.0, 4.0], wall_s=0.01)
    row = BenchResult("cnn", "cpu", "resnet18", "onnxruntime", "int8", 4, stats=st,
                      power={"energy_j": 1.2}, agreement={"top1": 1.0}, env={"gpu_name": "", "config_hash": "abc"},
                      extras={"calibration": "synthetic"}).to_row()
    assert tuple(CONTRACT["bench_results"]) == CONTRACT_COLUMNS
    assert list(row)[:len(CONTRACT_COLUMNS)] == list(CONTRACT_COLUMNS)
    assert {k: row[k] for k in ("status", "latency_ms_p50", "throughput_ips", "iterations", "energy_j_per_item",
                                "throughput_wall_ips", "agreement_top1", "config_hash", "calibration")} == {
        "status": "ok", "latency_ms_p50": 2.0, "throughput_ips": 2000.0, "iterations": 3,
        "energy_j_per_item": pytest.approx(0.1), "throughput_wall_ips": pytest.approx(1200.0),
        "agreement_top1": 1.0, "config_hash": "abc", "calibration": "synthetic"}


@pytest.mark.parametrize("kwargs, match", [
    ({"status": "slow", "reason": "x"}, "status"),
    ({"status": "oom"}, "needs a reason"),
    ({"batch_size": 0}, "batch_size"),
])
def test_result_rejects_bad_rows(kwargs, match):
    base = dict(suite="cnn", device="cpu", model="resnet18", backend="torch_eager", precision="fp32", batch_size=1)
    with pytest.raises(ValueError, match=match):
        BenchResult(**{**base, **kwargs})


@pytest.mark.parametrize("expected, reported, allow, outcome", [
    ("L4", "NVIDIA L4", False, ""),
    ("l4", "NVIDIA L4", False, ""),
    ("", "NVIDIA H200", False, ""),
    ("L4", "Tesla T4", True, "must be a GPU whose name contains 'L4', found 'Tesla T4'"),
    ("L4", "", True, "found no CUDA GPU"),
    ("L4", "Tesla T4", False, DeviceMismatchError),
    ("L4", "NVIDIA L40S", False, DeviceMismatchError),
    ("A10", "NVIDIA A100-SXM4-80GB", False, DeviceMismatchError),
    ("T4", "NVIDIA T400", False, DeviceMismatchError),
    ("H200", "NVIDIA H200 NVL", False, ""),
    ("", "", False, DeviceMismatchError),
])
def test_verify_device(expected, reported, allow, outcome):
    if outcome is DeviceMismatchError:
        with pytest.raises(DeviceMismatchError, match="allow_mismatch: true"):
            verify_device("l4", expected, reported, allow)
    elif outcome:
        assert outcome in verify_device("l4", expected, reported, allow)
    else:
        assert verify_device("l4", expected, reported, allow) == ""


@pytest.mark.parametrize("exc, oom", [
    (MemoryError(), True),
    (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), True),
    (RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1644167168 bytes"), True),
    (RuntimeError("BFCArena::AllocateRawInternal Failed to allocate memory for requested buffer"), True),
    (RuntimeError("shape mismatch"), False),
    (ValueError("bad input"), False),
])
def test_is_oom(exc, oom):
    assert is_oom(exc) is oom


def test_environment_names_the_machine():
    env = collect_env("cpu", "h1")
    assert env["config_hash"] == "h1" and env["cpu_model"] and env["cpu_count"] >= 1
    assert env["torch_version"] and env["onnxruntime_version"] and env["tensorrt_version"] == ""
    assert env["gpu_name"] == ""


def test_default_config_plans_the_cpu_jobs(config):
    cfg = validate_config(config)
    # resnet50 too: the cpu study's papers state their INT8 gains for it
    assert cnn_jobs(cfg) == [
        {"device": "cpu", "model": m, "backend": b, "precision": p} for m in ("resnet18", "resnet50")
        for b, p in (("torch_eager", "fp32"), ("onnxruntime", "fp32"), ("onnxruntime", "int8"))]
    gpu_jobs = cnn_jobs({**cfg, "bench": {**cfg["bench"], "devices": ["l4"]}})
    assert len(gpu_jobs) == 2 * (4 + 1 + 1 + 3)
    params = job_params(cfg, "l4", "resnet50")
    assert params["grid"]["batch_sizes"] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512]
    assert "models" not in params["grid"] and params["device"]["gpu_name"] == "L4"
    assert "partition" not in params["device"] and "runtime_min" not in params["device"]  # placement never reruns


def test_bench_devices_must_name_device_entries(config):
    config["bench"]["devices"] = ["cpu", "a100"]
    with pytest.raises(ConfigError, match=r"'bench.devices': 'a100' has no entry under devices"):
        validate_config(config)


def test_schema_rejects_unknown_precision(config):
    config["bench"]["suites"]["cnn"]["cpu"]["backends"]["onnxruntime"] = ["fp16"]
    with pytest.raises(ConfigError, match="bench.suites.cnn.cpu.backends.onnxruntime"):
        validate_config(config)


@pytest.mark.parametrize("entry, key", [
    ({"kind": "gpu"}, "devices.x.kind"),
    ({"kind": "cuda", "gpus": 0}, "devices.x.gpus"),
    ({"kind": "cpu", "cpu": 2}, "devices.x.cpu"),
])
def test_device_spec_names_the_bad_key(entry, key):
    with pytest.raises(BenchConfigError, match=key):
        DeviceSpec.from_config("x", entry)


def test_grid_rejects_a_precision_the_backend_lacks():
    with pytest.raises(BenchConfigError, match="bench.suites.cnn.cpu.backends.onnxruntime"):
        CnnGrid(backends={"onnxruntime": ["bf16"]})


def test_best_points_and_share_of_peak():
    import pandas as pd

    from sovereign.bench.summary import best_points

    df = pd.DataFrame([
        {"model": "resnet18", "precision": "fp16", "backend": "torch_eager", "batch_size": 64, "status": "ok", "throughput_ips": 10000.0},
        {"model": "resnet18", "precision": "fp16", "backend": "torch_compile", "batch_size": 512, "status": "ok", "throughput_ips": 40000.0},
        {"model": "resnet18", "precision": "fp16", "backend": "tensorrt", "batch_size": 512, "status": "unavailable", "throughput_ips": None},
        {"model": "resnet50", "precision": "fp32", "backend": "torch_eager", "batch_size": 256, "status": "ok", "throughput_ips": 1000.0},
    ])
    best = best_points(df, {"fp16": 990.0, "fp32": 67.0})
    assert best[["model", "precision", "backend", "batch_size"]].to_dict("records") == [
        {"model": "resnet18", "precision": "fp16", "backend": "torch_compile", "batch_size": 512},
        {"model": "resnet50", "precision": "fp32", "backend": "torch_eager", "batch_size": 256}]
    assert best.tflops.tolist() == pytest.approx([40000 * 3.62 / 1000, 1000 * 8.18 / 1000])
    assert best.pct_of_peak.tolist() == pytest.approx([100 * 144.8 / 990, 100 * 8.18 / 67])
