"""Real CNN benchmark runs on the CPU: PyTorch and ONNX Runtime (FP32, INT8) into DuckDB, and every refusal path."""
from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sovereign.bench.cnn import job_paths, run_sweep
from sovereign.bench.env import cpu_isa
from sovereign.bench.errors import DeviceMismatchError
from sovereign.warehouse import load_warehouse, query

ROOT = Path(__file__).resolve().parent.parent
FAST = {"warmup": 1, "min_iterations": 3, "max_iterations": 12, "round_iterations": 3, "time_budget_s": 0.6,
        "min_duration_s": 0.0}


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    """The default config with a cache in a temporary directory and a few test devices."""
    c = copy.deepcopy(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    c["bench"]["cache_dir"] = str(tmp_path_factory.mktemp("bench-cache"))
    c["bench"]["suites"]["cnn"]["agreement_batch"] = 4  # keeps the loaded CI machine's runs short
    c["devices"]["capped"] = {"kind": "cpu", "cpus": 2, "memory_cap_mb": 512}
    return c


@pytest.fixture(scope="module")
def cpu_run(cfg, tmp_path_factory):
    """ResNet-18 on the CPU: torch eager FP32, ONNX Runtime FP32 and INT8, batches 1 and 2."""
    out = tmp_path_factory.mktemp("bench-out")
    rows = run_sweep(cfg, "cpu", str(out), models=["resnet18"], backends=["torch_eager", "onnxruntime"],
                     precisions=["fp32", "int8"], batch_sizes=[1, 2], timing=FAST, config_hash="t")
    return out, pd.DataFrame(rows)


def test_cpu_runs_are_real_and_labelled(cpu_run):
    out, df = cpu_run
    got = sorted(zip(df.backend, df.precision, df.batch_size, df.status))
    assert got == [("onnxruntime", "fp32", 1, "ok"), ("onnxruntime", "fp32", 2, "ok"),
                   ("onnxruntime", "int8", 1, "ok"), ("onnxruntime", "int8", 2, "ok"),
                   ("torch_eager", "fp32", 1, "ok"), ("torch_eager", "fp32", 2, "ok")]
    assert (df.latency_ms_p50 > 0).all() and (df.iterations >= 3).all()
    # p90 from at least 10 samples, else NULL with the reason
    few = df.latency_ms_p90.isna()
    assert (df[~few].latency_ms_p50 <= df[~few].latency_ms_p90).all()
    assert df[few].latency_ms_p90_note.str.startswith("p90 needs at least 10 timed samples").all()
    assert (df.repeats == 3).all() and df.confirm_note[~df.confirmed.astype(bool)].str.len().gt(0).all()
    # at most 12 samples: no p99, and the row says why
    assert df.latency_ms_p99.isna().all() and df.latency_ms_p99_note.str.startswith("p99 needs at least 100").all()
    assert set(df.protocol) == {"stable"}
    assert (df.throughput_ips == df.batch_size / (df.latency_ms_p50 / 1000)).all()
    assert (df.throughput_wall_ips > 0).all() and {r for x in df.stop_reason for r in x.split(",")} <= {"stable", "time_budget", "max_iterations"}
    assert set(df.device) == {"cpu"} and set(df.gpu_name) == {""} and set(df.timer) == {"perf_counter"}
    assert df.peak_mem_mb.isna().all() and df.energy_j_per_item.isna().all()  # no GPU, no NVML: NULL, not 0
    for stem in ("resnet18__torch_eager__fp32", "resnet18__onnxruntime__fp32", "resnet18__onnxruntime__int8"):
        assert (out / "cnn" / "cpu" / f"{stem}.parquet").exists() and (out / "cnn" / "cpu" / f"{stem}.json").exists()


def test_int8_states_its_synthetic_calibration_and_agreement(cpu_run):
    _, df = cpu_run
    int8 = df[df.precision == "int8"].iloc[0]
    assert int8.calibration.startswith("synthetic calibration: 4 batches x 8 seeded N(0,1) images (seed 0)")
    assert "activations QUInt8, weights QInt8 per-channel, quant_pre_process" in int8.calibration
    assert int8.quant_pre_process and int8.quant_per_channel and int8.quant_format == "QDQ"
    assert int8.ort_graph_optimization == "ORT_ENABLE_ALL" and int8.ort_threads == 2
    assert int8.cpu_isa == cpu_isa()["cpu_isa"]  # the row lists the ISA flags this machine reports
    assert int8.providers_used == "CPUExecutionProvider"
    fp32 = df[(df.backend == "onnxruntime") & (df.precision == "fp32")].iloc[0]
    assert fp32.agreement_max_abs_err < 1e-3  # same FP32 maths as torch
    assert 1e-4 < int8.agreement_rel_err < 0.3  # INT8 differs, but not wildly
    assert int8.agreement_reference == "torch fp32 cpu" and int8.agreement_items == 4


def test_cpu_rows_load_into_duckdb(cpu_run, tmp_path):
    out, _ = cpu_run
    files = sorted(str(p) for p in (out / "cnn" / "cpu").glob("*.parquet"))
    db = tmp_path / "w.duckdb"
    counts = load_warehouse(str(db), {"bench_results": files}, "t")
    assert counts["bench_results"] == 6
    df = query(str(db), "SELECT backend, precision, count(*) AS n, min(throughput_ips) > 0 AS fast, "
                        "bool_and(status = 'ok') AS ok FROM bench_results GROUP BY ALL ORDER BY ALL")
    assert df.to_dict("records") == [
        {"backend": "onnxruntime", "precision": "fp32", "n": 2, "fast": True, "ok": True},
        {"backend": "onnxruntime", "precision": "int8", "n": 2, "fast": True, "ok": True},
        {"backend": "torch_eager", "precision": "fp32", "n": 2, "fast": True, "ok": True}]


def test_ort_silent_fallback_is_unavailable(cfg, tmp_path):
    c = copy.deepcopy(cfg)
    c["bench"]["suites"]["cnn"]["cpu"]["ort_providers"] = ["CUDAExecutionProvider"]
    rows = run_sweep(c, "cpu", str(tmp_path), models=["resnet18"], backends=["onnxruntime"], precisions=["fp32"],
                     batch_sizes=[1, 4], timing=FAST)
    assert [(r["batch_size"], r["status"]) for r in rows] == [(1, "unavailable"), (4, "unavailable")]
    # This CPU-only onnxruntime either refuses the provider or silently falls back to CPU; both are refusals.
    assert rows[0]["reason"].startswith(("silent fallback: asked onnxruntime for ['CUDAExecutionProvider']",
                                         "onnxruntime refused providers ['CUDAExecutionProvider']"))
    assert rows[0]["latency_ms_p50"] is None and rows[0]["throughput_ips"] is None


def test_missing_tensorrt_is_unavailable(cfg, tmp_path):
    try:
        import tensorrt  # noqa: F401
        pytest.skip("TensorRT is installed here")
    except ImportError:
        pass
    rows = run_sweep(cfg, "cpu", str(tmp_path), models=["resnet18"], backends=["tensorrt"], precisions=["int8"],
                     batch_sizes=[1], timing=FAST)
    assert [(r["backend"], r["precision"], r["status"]) for r in rows] == [("tensorrt", "int8", "unavailable")]
    assert rows[0]["reason"].startswith("TensorRT is not installed")
    assert job_paths(tmp_path, "cpu", "resnet18", "tensorrt", "int8")[0].exists()


def test_wrong_gpu_fails_the_job_with_a_clear_message(cfg, tmp_path):
    with pytest.raises(DeviceMismatchError, match=r"device 'l4' must be a GPU whose name contains 'L4', found no CUDA GPU.*allow_mismatch: true"):
        run_sweep(cfg, "l4", str(tmp_path), models=["resnet18"], backends=["torch_eager"], precisions=["fp16"],
                  batch_sizes=[1])
    # Through the seam: a T4 reporting where an L4 is required.
    with pytest.raises(DeviceMismatchError, match="found 'Tesla T4'"):
        run_sweep(cfg, "l4", str(tmp_path), models=["resnet18"], backends=["torch_eager"], precisions=["fp16"],
                  batch_sizes=[1], reported_gpu_name="Tesla T4")
    assert not any(tmp_path.rglob("*.parquet"))


def test_allowed_mismatch_records_rows(cfg, tmp_path):
    rows = run_sweep(cfg, "l4", str(tmp_path), models=["resnet18"], backends=["torch_eager"], precisions=["fp16"],
                     batch_sizes=[1, 8], allow_mismatch=True)
    assert [(r["device"], r["batch_size"], r["status"]) for r in rows] == [("l4", 1, "mismatch"), ("l4", 8, "mismatch")]
    assert "found no CUDA GPU" in rows[0]["reason"] and rows[0]["expected_gpu"] == "L4"


@pytest.mark.parametrize("backend", ["torch_eager", "onnxruntime"])
def test_oom_batch_is_a_row_and_the_sweep_goes_on(cfg, tmp_path, backend):
    # A 512 MB cap: batch 256 needs 822 MB for the first activation alone, batches 1 and 2 fit.
    rows = run_sweep(cfg, "capped", str(tmp_path), models=["resnet18"], backends=[backend], precisions=["fp32"],
                     batch_sizes=[1, 256, 2], timing=FAST)
    assert [(r["batch_size"], r["status"]) for r in rows] == [(1, "ok"), (256, "oom"), (2, "ok")]
    assert "allocate" in rows[1]["reason"].lower() and rows[1]["memory_cap_mb"] == 512
    assert rows[2]["latency_ms_p50"] > 0


def test_channels_last_is_recorded(cfg, tmp_path):
    rows = run_sweep(cfg, "cpu", str(tmp_path), models=["resnet18"], backends=["torch_eager"], precisions=["fp32"],
                     batch_sizes=[1], timing=FAST, channels_last=True)
    assert [(r["status"], r["memory_format"]) for r in rows] == [("ok", "channels_last")]
    assert rows[0]["agreement_max_abs_err"] < 1e-3


def test_skip_existing_resumes_without_rerunning(cfg, cpu_run):
    out, df = cpu_run
    again = pd.DataFrame(run_sweep(cfg, "cpu", str(out), models=["resnet18"], backends=["torch_eager", "onnxruntime"],
                                   precisions=["fp32", "int8"], batch_sizes=[1, 2], timing=FAST, skip_existing=True))
    key = ["backend", "precision", "batch_size"]
    assert again.sort_values(key).timed_wall_s.tolist() == df.sort_values(key).timed_wall_s.tolist()


def test_best_path_runs_beside_the_grid_in_its_own_layout(cfg, tmp_path):
    c = copy.deepcopy(cfg)
    c["bench"]["suites"]["cnn"]["cpu"].update(
        batch_sizes=[1], backends={"torch_eager": ["fp32"]},
        best_path={"batch_sizes": [2], "backends": {"torch_eager": ["fp32"]}})
    rows = run_sweep(c, "cpu", str(tmp_path), models=["resnet18"], timing=FAST)
    assert [(r["batch_size"], r["grid_part"], r["memory_format"], r["status"]) for r in rows] == [
        (1, "grid", "nchw", "ok"), (2, "best_path", "channels_last", "ok")]


def test_a_pair_only_on_the_best_path_runs_only_its_points(cfg, tmp_path):
    c = copy.deepcopy(cfg)
    c["bench"]["suites"]["cnn"]["cpu"].update(
        batch_sizes=[1], backends={"torch_eager": []},
        best_path={"batch_sizes": [2], "backends": {"torch_eager": ["fp32"]}, "channels_last": False})
    rows = run_sweep(c, "cpu", str(tmp_path), models=["resnet18"], timing=FAST)
    assert [(r["batch_size"], r["grid_part"], r["memory_format"]) for r in rows] == [(2, "best_path", "nchw")]
