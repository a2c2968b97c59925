"""Measurement protocols (stable, deepgap, mlperf), honest tails, and energy from the timed window only."""
from __future__ import annotations

import copy
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sovereign.bench import energy
from sovereign.bench.cnn import run_sweep
from sovereign.bench.env import cpu_isa
from sovereign.bench.errors import BenchConfigError
from sovereign.bench.protocol import (DeepGapSettings, MlperfSettings, ProtocolSettings, early_stopping_bound,
                                      run_protocol)
from sovereign.bench.tracker import LatencyStats, TimingConfig

ROOT = Path(__file__).resolve().parent.parent


class FakeRapl:
    """A powercap directory whose package counter a thread advances at `watts` (wrapping like RAPL)."""

    def __init__(self, root: Path, watts: float, range_uj: int = 10**12, start_uj: int = 0):
        self.zone = root / "intel-rapl:0"
        self.zone.mkdir(parents=True)
        (self.zone / "name").write_text("package-0\n")
        (self.zone / "max_energy_range_uj").write_text(f"{range_uj}\n")
        sub = root / "intel-rapl:0:0"  # a sub-zone: must not be added to the package
        sub.mkdir()
        (sub / "energy_uj").write_text("999999999\n")
        self.watts, self.range, self.start = watts, range_uj, start_uj
        self.t0 = time.perf_counter()
        self._write()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _write(self):
        uj = int(self.start + (time.perf_counter() - self.t0) * self.watts * 1e6) % self.range
        tmp = self.zone / "energy_uj.tmp"
        tmp.write_text(f"{uj}\n")
        tmp.replace(self.zone / "energy_uj")  # atomic: a reader never sees half a number

    def _run(self):
        while not self._stop.is_set():
            self._write()
            self._stop.wait(0.0005)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def clock_counter(watts: float, range_uj: int = 10**12, start_uj: int = 0):
    """A package counter read straight from the clock: exactly `watts`, no writer thread lagging behind."""
    t0 = time.perf_counter()
    return lambda: [int(start_uj + (time.perf_counter() - t0) * watts * 1e6) % range_uj]


def sleeper(ms: float):
    return lambda: time.sleep(ms / 1000)


def test_energy_window_excludes_a_long_warmup(tmp_path):
    """A warm-up 5x longer than the timed part leaves energy per iteration unchanged (watts x latency)."""
    per_iter = {}
    FakeRapl(tmp_path, watts=50.0)  # the zone files the meter discovers; the counter itself comes from the clock
    read = clock_counter(50.0)
    for warmup in (1, 50):
        timing = TimingConfig(warmup=warmup, min_iterations=10, max_iterations=10, round_iterations=10,
                              time_budget_s=5, repeats=1)  # one timed window: the warm-up's share is what is tested
        with energy.RaplMeter(tmp_path, read_uj=read, min_window_s=0) as meter:
            stats = run_protocol("stable", sleeper(10), timing, ProtocolSettings(), window=meter)
        s = meter.summary()
        assert s["energy_source"] == "rapl" and s["energy_note"] == "" and s["energy_segments"] == 1
        assert s["energy_window_s"] == pytest.approx(stats.wall_s, rel=0.05)
        # energy per iteration over time per iteration: the sleeps' own jitter cancels out
        per_iter[warmup] = (s["energy_j"] / stats.iterations) / (stats.wall_s / stats.iterations)
        # the counter saw the timed window only: 50 W over its length, not over warm-up + window
        assert s["energy_j"] == pytest.approx(50.0 * s["energy_window_s"], rel=0.05)
    assert per_iter[50] == pytest.approx(per_iter[1], rel=0.1)
    assert per_iter[50] < 50.0 * 2  # had the 0.5 s warm-up counted: over 50 W x (0.6 s / 0.1 s)


def test_deepgap_warmups_between_repeats_are_not_counted(tmp_path):
    FakeRapl(tmp_path, watts=20.0)
    with energy.RaplMeter(tmp_path, read_uj=clock_counter(20.0), min_window_s=0) as meter:
        stats = run_protocol("deepgap", sleeper(5), TimingConfig(),
                             ProtocolSettings(deepgap=DeepGapSettings(warmup=40, iterations=10, repeats=3)),
                             window=meter)
    s = meter.summary()
    assert s["energy_segments"] == 3 and stats.iterations == 30
    assert s["energy_j"] == pytest.approx(20.0 * s["energy_window_s"], rel=0.05)
    assert s["energy_window_s"] < 30 * 0.005 + 0.5 * 120 * 0.005  # three 10-iteration windows, not 120 warm-up calls


def test_rapl_counter_wraparound_and_missing_counters(tmp_path):
    near_top = 10**6 - 2000  # wraps after 2 mJ; the meter must add, not subtract
    FakeRapl(tmp_path / "a", watts=5.0, range_uj=10**6, start_uj=near_top)
    with energy.RaplMeter(tmp_path / "a", read_uj=clock_counter(5.0, 10**6, near_top), min_window_s=0) as meter:
        with meter.segment():
            time.sleep(0.05)
    s = meter.summary()
    assert s["energy_j"] == pytest.approx(5.0 * s["energy_window_s"], rel=0.05)  # 0.25 J across the wrap
    # the files themselves are read when no reader is given (a static counter: zero energy, not an error)
    files = energy.RaplMeter(tmp_path / "a", min_window_s=0)
    with files, files.segment():
        time.sleep(0.02)
    assert files.summary()["energy_j"] == 0 and files.summary()["energy_note"] == ""
    empty = energy.RaplMeter(tmp_path / "none")
    with empty, empty.segment():
        pass
    s = empty.summary()
    assert s["energy_j"] is None and s["energy_note"].startswith("no RAPL energy counters under")


def test_window_shorter_than_the_update_period_has_no_energy(tmp_path):
    with FakeRapl(tmp_path, watts=5.0):
        meter = energy.RaplMeter(tmp_path, min_window_s=0)
        meter.update_period_s = 0.5
        with meter, meter.segment():
            time.sleep(0.01)
    s = meter.summary()
    assert s["energy_j"] is None and "too short for energy: it needs at least 5 s" in s["energy_note"]


def test_a_suites_window_floor_reaches_the_meter(tmp_path, monkeypatch):
    # energy_meter passes the suite's floor on (the llm suite's min_energy_window_s), in both directions
    monkeypatch.setattr(energy, "POWERCAP_ROOT", tmp_path)
    with FakeRapl(tmp_path, watts=5.0):
        for floor, reported in ((0.05, True), (30.0, False)):
            meter = energy.energy_meter("cpu", "", floor)
            meter.update_period_s = 0.001
            with meter, meter.segment():
                time.sleep(0.1)
            s = meter.summary()
            assert (s["energy_j"] is not None) is reported and s["energy_min_window_s"] == floor, s
    assert energy.energy_meter("cpu").min_window_s == energy.ENERGY_MIN_WINDOW_S


def test_p99_needs_100_samples():
    few = LatencyStats.from_samples([1.0] * 98 + [5.0], wall_s=1)
    assert few.p99_ms is None and few.p99_note == "p99 needs at least 100 timed samples, this point has 99"
    enough = LatencyStats.from_samples([1.0] * 98 + [5.0, 6.0], wall_s=1)
    assert enough.p99_ms is not None and enough.p99_note == "" and 1.0 <= enough.p99_ms <= 6.0


def test_early_stopping_bounds():
    # t = 0 needs (1 - q)^n <= 1 - confidence: 44 queries for p90, 459 for p99 at 99 % (LoadGen's h_min)
    assert early_stopping_bound(list(range(43)), 90)[0] is None
    assert "needs at least 44 queries" in early_stopping_bound(list(range(43)), 90)[1]
    assert early_stopping_bound(list(range(44)), 90)[0] == 43  # no over-latency query allowed: the maximum
    assert "needs at least 459" in early_stopping_bound(list(range(458)), 99)[1]
    values = list(range(10000))
    bound, _ = early_stopping_bound(values, 90)
    assert 9000 < bound < 9100  # above the empirical p90 (8999), by a small margin at n = 10000


def test_protocol_settings_name_bad_keys():
    with pytest.raises(BenchConfigError, match="protocol_settings.deepgap.repeats"):
        DeepGapSettings(repeats=0)
    with pytest.raises(BenchConfigError, match="protocol_settings.mlperf.confidence"):
        MlperfSettings(confidence=1.5)
    with pytest.raises(BenchConfigError, match="protocol_settings.nightly"):
        ProtocolSettings.from_config({"nightly": {}})
    with pytest.raises(BenchConfigError, match="timing key 'min_duration_s'"):
        TimingConfig(min_duration_s=-1)


def test_stable_protocol_honours_min_duration():
    timing = TimingConfig(warmup=0, min_iterations=3, max_iterations=10000, round_iterations=3, time_budget_s=5,
                          min_duration_s=0.3)
    stats = run_protocol("stable", sleeper(1), timing, ProtocolSettings())
    assert stats.stop_reason == "stable" and stats.wall_s >= 0.3 and stats.protocol == "stable"
    # a minimum above the budget: the budget ends the point
    capped = TimingConfig(warmup=0, min_iterations=3, max_iterations=10000, round_iterations=3, time_budget_s=0.2,
                          min_duration_s=5)
    stats = run_protocol("stable", sleeper(1), capped, ProtocolSettings())
    assert stats.stop_reason == "time_budget" and 0.2 <= stats.wall_s < 1.0


def test_cpu_isa_reads_flags(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni amx_int8\n")
    isa = cpu_isa(str(info))
    assert isa["cpu_isa"] == "avx2,avx512f,avx512_vnni,amx_int8"
    assert isa["isa_avx512_vnni"] and isa["isa_amx_int8"] and not isa["isa_avx_vnni"] and not isa["isa_amx_bf16"]
    assert cpu_isa(str(tmp_path / "missing"))["cpu_isa"] == ""


@pytest.fixture(scope="module")
def protocol_rows(tmp_path_factory):
    """ONNX Runtime INT8 ResNet-18 at batch 1 under all three protocols, with a fake RAPL counter at 40 W."""
    c = copy.deepcopy(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    c["bench"]["cache_dir"] = str(tmp_path_factory.mktemp("cache"))
    cnn = c["bench"]["suites"]["cnn"]
    cnn["agreement_batch"] = 2
    cnn["protocols"] = ["stable", "deepgap", "mlperf"]
    cnn["protocol_settings"]["mlperf"].update(min_duration_s=0.5, min_queries=50, warmup=2)
    root = tmp_path_factory.mktemp("powercap")
    mp = pytest.MonkeyPatch()
    mp.setattr(energy, "POWERCAP_ROOT", root)
    try:
        with FakeRapl(root, watts=40.0):
            rows = run_sweep(c, "cpu", str(tmp_path_factory.mktemp("out")), models=["resnet18"],
                             backends=["onnxruntime"], precisions=["int8"], batch_sizes=[1],
                             # no minimum duration: 30 iterations end a repeat however fast this CPU runs them
                             # (with 0.2 s, a fast run went on to 32 and the stable row had 95)
                             timing={"warmup": 1, "min_iterations": 3, "max_iterations": 30, "round_iterations": 3,
                                     "time_budget_s": 2, "min_duration_s": 0.0})
    finally:
        mp.undo()
    return pd.DataFrame(rows).set_index("protocol")


def test_each_protocol_yields_a_row(protocol_rows):
    df = protocol_rows
    assert sorted(df.index) == ["deepgap", "mlperf", "stable"] and set(df.status) == {"ok"}
    dg = df.loc["deepgap"]
    assert dg.iterations == 300 and dg.repeats == 3 and dg.iterations_per_repeat == 100 and dg.stop_reason == "fixed"
    medians = [float(x) for x in dg.repeat_medians_ms.split(",")]
    assert len(medians) == 3 and dg.latency_ms_p50 == pytest.approx(sorted(medians)[1], rel=1e-5)  # medians written to 6 digits
    assert dg.latency_ms_p99 is not None and not pd.isna(dg.latency_ms_p99)  # 300 samples: p99 is reported
    ml = df.loc["mlperf"]
    assert ml.timed_wall_s >= 0.5 and ml.iterations >= 50 and ml.stop_reason == "min_duration"
    assert ml.early_stopping_p90_ms >= ml.latency_ms_p90 or ml.early_stopping_p90_note
    st = df.loc["stable"]
    # three repeats of at most 30 timed iterations each: too few samples for p99
    assert st.repeats == 3 and st.iterations <= 90 and pd.isna(st.latency_ms_p99)
    assert st.latency_ms_p99_note.startswith("p99 needs")


def test_cpu_rows_measure_their_window_and_report_no_energy_under_ten_seconds(protocol_rows):
    # the arithmetic of a long enough window is tested with the meter itself (min_window_s=0) above
    for protocol, r in protocol_rows.iterrows():
        assert r.energy_source == "rapl" and r.energy_window_s < 10, protocol
        assert r.energy_window_s == pytest.approx(r.timed_wall_s, rel=0.1), protocol
        assert pd.isna(r.energy_j_per_item) and "too short for energy" in r.energy_note, protocol
