"""Measurements that cannot flip a decision by noise (issue 19): repeats and confirmation, minimum duration before
the iteration cap, p90's sample floor, energy windows, threads recorded, TF32 left as the backend set it, and
ONNX Runtime's node-level CPU fallback."""
from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import pytest

from sovereign.bench import energy
from sovereign.bench.protocol import DeepGapSettings, ProtocolSettings, run_protocol
from sovereign.bench.tracker import LatencyStats, TimingConfig, measure

ROOT = Path(__file__).resolve().parent.parent


def sleeper(ms_of_call):
    """fn() sleeping ms_of_call(i) milliseconds on its i-th call."""
    calls = [0]

    def fn():
        calls[0] += 1
        time.sleep(ms_of_call(calls[0]) / 1000)
    return fn


def test_min_duration_is_honoured_before_max_iterations():
    cfg = TimingConfig(warmup=0, min_iterations=5, max_iterations=10, round_iterations=5, stable_rounds=2,
                       rel_spread=0.9, time_budget_s=5, min_duration_s=0.2)
    st = measure(sleeper(lambda i: 2), cfg)
    assert st.wall_s >= 0.2 and st.iterations > 10, (st.wall_s, st.iterations, st.stop_reason)


@pytest.mark.parametrize("n,has_p90", [(3, False), (9, False), (10, True), (50, True)])
def test_p90_needs_ten_samples(n, has_p90):
    st = LatencyStats.from_samples([float(i) for i in range(1, n + 1)], wall_s=1)
    assert (st.p90_ms is not None) == has_p90
    if not has_p90:
        assert st.p90_note == f"p90 needs at least 10 timed samples, this point has {n}"


REPEAT_TIMING = dict(warmup=0, min_iterations=10, max_iterations=1000, round_iterations=5, stable_rounds=2,
                     rel_spread=0.5, time_budget_s=5, min_duration_s=0.03)
# (case, protocol, per-call sleep in ms, settings, expected (repeats, confirmed, stable))
REPEATS = [
    ("stable: steady calls are confirmed by three repeats", "stable", lambda i: 2, {}, (3, True, True)),
    ("stable: a slowdown after the first repeat is unconfirmed", "stable", lambda i: 2 if i <= 16 else 8, {},
     (3, False, False)),
    ("stable: one repeat confirms nothing", "stable", lambda i: 2, {"repeats": 1}, (1, False, True)),
    ("deepgap: repeats 4x apart are not stable", "deepgap", lambda i: 2 if i <= 10 else 8, {}, (3, False, False)),
    ("deepgap: steady repeats are confirmed", "deepgap", lambda i: 2, {}, (3, True, True)),
]


@pytest.mark.parametrize("case,protocol,ms,extra,expected", REPEATS, ids=[c[0] for c in REPEATS])
def test_a_point_is_confirmed_by_agreeing_repeats(case, protocol, ms, extra, expected):
    timing = TimingConfig(**{**REPEAT_TIMING, **extra})
    settings = ProtocolSettings(deepgap=DeepGapSettings(warmup=0, iterations=10, repeats=3))
    st = run_protocol(protocol, sleeper(ms), timing, settings)
    got = (st.extra.get("repeats"), st.extra.get("confirmed"), st.stable)
    assert got == expected, (st.extra, st.spread)
    if not st.extra.get("confirmed"):
        assert st.extra.get("confirm_note")


# (case, window seconds, sensor update period, energy kept)
WINDOWS = [
    ("1 s of RAPL: too short", 1.0, 0.001, False),
    ("9.9 s of RAPL: too short", 9.9, 0.001, False),
    ("12 s of RAPL: kept", 12.0, 0.001, True),
    ("15 s of a 2 s sensor: under 10 update periods", 15.0, 2.0, False),
    ("25 s of a 2 s sensor: kept", 25.0, 2.0, True),
]


class SteadyMeter(energy.EnergyMeter):
    """A meter whose counter reads a clock at 10 W (the base class's arithmetic, a known power)."""

    source = "steady"

    def _read_j(self):
        return 10.0 * self.clock()


@pytest.mark.parametrize("case,window,period,kept", WINDOWS, ids=[c[0] for c in WINDOWS])
def test_energy_needs_a_window_of_ten_seconds(case, window, period, kept):
    now = [0.0]
    meter = SteadyMeter(clock=lambda: now[0])
    meter.update_period_s = period
    with meter.segment():
        now[0] += window
    s = meter.summary()
    assert (s["energy_j"] is not None) == kept, s
    if kept:
        assert s["energy_j"] == pytest.approx(10.0 * window)
    else:
        assert "too short for energy" in s["energy_note"], s


def test_rows_record_the_threads_used_and_the_cores_present(tmp_path):
    from sovereign.bench.config import CnnGrid, CnnSuite, DeviceSpec
    from sovereign.bench.runner import CnnJob, run_cnn_job

    timing = TimingConfig(warmup=1, min_iterations=3, max_iterations=6, round_iterations=3, stable_rounds=2,
                          rel_spread=0.9, time_budget_s=1, min_duration_s=0, repeats=1)
    suite = CnnSuite(timing=timing, agreement_batch=2, cpu=CnnGrid(batch_sizes=[1]))
    job = CnnJob(device=DeviceSpec(name="cpu", cpus=1), model="resnet18", backend="torch_eager", precision="fp32",
                 suite=suite, grid=suite.cpu, cache_dir=str(tmp_path))
    import torch

    threads = torch.get_num_threads()
    try:
        rows, report = run_cnn_job(job, progress=False)
    finally:
        torch.set_num_threads(threads)  # the backend sets the process's threads; later tests get theirs back
    row = rows[0]
    assert row["status"] == "ok"
    assert (row["threads_used"], row["cores_present"], row["torch_threads"]) == (1, os.cpu_count(), 1)


def load_speed_script():
    spec = importlib.util.spec_from_file_location("bench_gpu_speed", ROOT / "benchmarks" / "bench_gpu_speed.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_fp32_reference_leaves_tf32_as_the_backend_set_it():
    import torch

    from sovereign.bench.config import DeviceSpec
    from sovereign.bench.models import build_model

    script = load_speed_script()
    model = build_model("resnet18", "", 0)
    x = torch.randn(1, 3, 32, 32)
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    try:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True  # a tf32 variant was built
        gpu = DeviceSpec(name="h200", kind="cuda", gpus=1, gpu_name="H200")
        try:
            script.reference(model, x, gpu)
        except (RuntimeError, AssertionError):
            pass  # no CUDA here: what matters is the flags it leaves behind
        assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == (True, True)
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def tiny_onnx(path: Path) -> Path:
    """A real two-node ONNX graph (Conv then Relu)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((2, 1, 3, 3), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], name="conv0"), helper.make_node("Relu", ["c"], ["y"], name="relu0")],
        "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


# (case, providers asked, expect a fallback named)
FALLBACK = [
    ("CUDA asked, nodes ran on the CPU provider: node-level fallback", ["CUDAExecutionProvider", "CPUExecutionProvider"],
     True),
    ("CPU asked, nodes ran on the CPU provider: no fallback", ["CPUExecutionProvider"], False),
]


@pytest.mark.parametrize("case,asked,fallback", FALLBACK, ids=[c[0] for c in FALLBACK])
def test_node_level_cpu_fallback_is_detected_from_the_session_profile(tmp_path, case, asked, fallback):
    import numpy as np
    import onnxruntime as ort

    from sovereign.bench.backends.onnxruntime import node_fallback, node_providers

    opts = ort.SessionOptions()
    opts.enable_profiling = True
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep both nodes unfused
    opts.profile_file_prefix = str(tmp_path / "prof")
    sess = ort.InferenceSession(str(tiny_onnx(tmp_path / "t.onnx")), sess_options=opts,
                                providers=["CPUExecutionProvider"])
    sess.run(None, {"x": np.ones((1, 1, 8, 8), dtype=np.float32)})
    placed = node_providers(sess.end_profiling())
    assert placed == {"conv0": "CPUExecutionProvider", "relu0": "CPUExecutionProvider"}
    note = node_fallback(asked, placed)
    assert bool(note) == fallback
    if fallback:
        assert "conv0" in note and "CPUExecutionProvider" in note
