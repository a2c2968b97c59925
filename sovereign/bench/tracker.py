"""Latency measurement: a per-iteration tracker and an adaptive loop that stops when the median is stable.

On a GPU each iteration is bracketed by two CUDA events and the end event is synchronised
(the DEEP-GAP way: one request's latency, no queueing ahead). On a CPU `perf_counter`
brackets it. The loop runs warm-up iterations, then rounds of timed iterations until the
medians of the last few rounds agree within a relative spread, or an iteration cap or a
time budget ends it; the stop reason is recorded, so an unstable number is visible.
"""
from __future__ import annotations

import contextlib
import math
import statistics
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

from .errors import BenchConfigError


_MINIMUM = {"warmup": 0, "min_iterations": 1, "max_iterations": 1, "round_iterations": 1, "stable_rounds": 2,
            "repeats": 1}
# Independent repeats a point needs before it may decide a claim against it (a contradiction).
CONFIRM_REPEATS = 3


@dataclass
class TimingConfig:
    """How long to measure one point: warm-up, iteration bounds, stability bound, time budget."""

    warmup: int = 10
    min_iterations: int = 20
    max_iterations: int = 500
    round_iterations: int = 10
    stable_rounds: int = 3
    rel_spread: float = 0.05
    time_budget_s: float = 30.0
    min_duration_s: float = 0.0
    repeats: int = CONFIRM_REPEATS
    repeat_spread: float = 0.10

    def __post_init__(self):
        for name in ("warmup", "min_iterations", "max_iterations", "round_iterations", "stable_rounds", "repeats"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < _MINIMUM[name]:
                raise BenchConfigError(f"timing key '{name}': expected an integer >= {_MINIMUM[name]}, got {value!r}")
        if self.max_iterations < self.min_iterations:
            raise BenchConfigError(f"timing key 'max_iterations' ({self.max_iterations}) is below 'min_iterations' ({self.min_iterations})")
        if not (isinstance(self.rel_spread, (int, float)) and 0 < self.rel_spread < 1):
            raise BenchConfigError(f"timing key 'rel_spread': expected a number in (0, 1), got {self.rel_spread!r}")
        if not (isinstance(self.time_budget_s, (int, float)) and self.time_budget_s > 0):
            raise BenchConfigError(f"timing key 'time_budget_s': expected a positive number, got {self.time_budget_s!r}")
        # a minimum above the time budget is capped by it (the budget always ends a point)
        if not (isinstance(self.min_duration_s, (int, float)) and self.min_duration_s >= 0):
            raise BenchConfigError(f"timing key 'min_duration_s': expected a number >= 0, got {self.min_duration_s!r}")
        if not (isinstance(self.repeat_spread, (int, float)) and 0 < self.repeat_spread < 1):
            raise BenchConfigError(f"timing key 'repeat_spread': expected a number in (0, 1), got {self.repeat_spread!r}")


def _percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of already sorted values."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


# Fewest samples for which a tail percentile is more than the largest sample or two (p90: 1 in 10, p99: 1 in 100).
TAIL_MIN_SAMPLES = {90: 10, 99: 100}


def tail_percentile(sorted_values: list[float], q: int) -> tuple[float | None, str]:
    """(percentile, '') when there are enough samples for it, else (None, the reason)."""
    need = TAIL_MIN_SAMPLES.get(q, 0)
    if len(sorted_values) < need:
        return None, f"p{q} needs at least {need} timed samples, this point has {len(sorted_values)}"
    return _percentile(sorted_values, q), ""


def relative_spread(values: list[float]) -> float:
    """(max - min) / median of `values`; infinity for fewer than two values."""
    if len(values) < 2:
        return math.inf
    med = statistics.median(values)
    return (max(values) - min(values)) / med if med > 0 else math.inf


@dataclass(frozen=True)
class LatencyStats:
    """Summary of one point's timed iterations, built once from the raw samples (milliseconds)."""

    median_ms: float
    p90_ms: float | None
    p99_ms: float | None
    mean_ms: float
    std_ms: float
    min_ms: float
    max_ms: float
    iterations: int
    wall_s: float
    stable: bool
    spread: float
    stop_reason: str
    p99_note: str = ""
    protocol: str = "stable"
    p90_note: str = ""
    extra: dict = field(default_factory=dict)
    samples_ms: tuple = field(default=(), repr=False)

    @classmethod
    def from_samples(cls, samples_ms: list[float], wall_s: float, stable: bool = True,
                     spread: float = math.nan, stop_reason: str = "fixed", protocol: str = "stable",
                     median_ms: float | None = None, extra: dict | None = None) -> "LatencyStats":
        """Build the summary from raw per-iteration latencies in milliseconds (`median_ms` overrides the pooled median)."""
        if not samples_ms:
            raise ValueError("no timed iterations to summarise")
        s = sorted(samples_ms)
        p90, p90_note = tail_percentile(s, 90)
        p99, p99_note = tail_percentile(s, 99)
        return cls(median_ms=statistics.median(s) if median_ms is None else median_ms, p90_ms=p90, p90_note=p90_note,
                   p99_ms=p99, p99_note=p99_note,
                   mean_ms=statistics.fmean(s), std_ms=statistics.pstdev(s) if len(s) > 1 else 0.0,
                   min_ms=s[0], max_ms=s[-1], iterations=len(s), wall_s=wall_s, stable=stable,
                   spread=spread, stop_reason=stop_reason, protocol=protocol, extra=dict(extra or {}),
                   samples_ms=tuple(samples_ms))

    def throughput_ips(self, batch_size: int) -> float:
        """Items per second as batch / median latency (the DEEP-GAP definition)."""
        return batch_size / (self.median_ms / 1000.0)

    def throughput_wall_ips(self, batch_size: int) -> float:
        """Items per second as items processed over the wall time of the whole timed loop."""
        return batch_size * self.iterations / self.wall_s if self.wall_s > 0 else math.nan

    def as_dict(self) -> dict:
        """The summary without the raw samples."""
        d = asdict(self)
        d.pop("samples_ms")
        return d


class LatencyTracker:
    """Context manager timing one iteration per `with` block; samples accumulate in `samples_ms`."""

    def __init__(self, timer: str = "cpu", stream=None):
        if timer not in ("cpu", "cuda"):
            raise BenchConfigError(f"timer must be 'cpu' or 'cuda', not {timer!r}")
        self.timer = timer
        self.stream = stream  # a backend's own CUDA stream: events must be recorded on it, not the default one
        self.samples_ms: list[float] = []
        self._t0 = 0.0
        if timer == "cuda":
            import torch

            self._start = torch.cuda.Event(enable_timing=True)
            self._end = torch.cuda.Event(enable_timing=True)

    def __enter__(self) -> "LatencyTracker":
        if self.timer == "cuda":
            self._start.record(self.stream)
        else:
            self._t0 = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            return False
        if self.timer == "cuda":
            self._end.record(self.stream)
            self._end.synchronize()
            self.samples_ms.append(self._start.elapsed_time(self._end))
        else:
            self.samples_ms.append((time.perf_counter() - self._t0) * 1000.0)
        return False

    def result(self, wall_s: float, **kw) -> LatencyStats:
        """Summarise the samples taken so far."""
        return LatencyStats.from_samples(self.samples_ms, wall_s, **kw)


def synchronize(timer: str) -> None:
    """Wait for queued GPU work when timing a GPU; nothing on a CPU."""
    if timer == "cuda":
        import torch

        torch.cuda.synchronize()


class NoWindow:
    """A timed-window observer that observes nothing (what `measure` uses without an energy meter)."""

    @contextlib.contextmanager
    def segment(self):
        """Bracket one stretch of timed iterations."""
        yield


def measure(fn: Callable[[], object], cfg: TimingConfig, timer: str = "cpu",
            clock: Callable[[], float] = time.perf_counter, window=None, stream=None) -> LatencyStats:
    """Warm up, then time `fn` in rounds until the round medians agree within `cfg.rel_spread`
    (and at least `cfg.min_duration_s` has been timed); `window.segment()` brackets the timed loop only."""
    for _ in range(cfg.warmup):
        fn()
    synchronize(timer)
    tracker = LatencyTracker(timer, stream)
    with (window or NoWindow()).segment():
        return _stable_loop(fn, cfg, tracker, clock)


def _stable_loop(fn, cfg: TimingConfig, tracker: LatencyTracker, clock) -> LatencyStats:
    samples = tracker.samples_ms
    round_medians: list[float] = []
    spread = math.inf
    reason = ""
    t0 = clock()
    while not reason:
        start = len(samples)
        for _ in range(cfg.round_iterations):
            with tracker:
                fn()
            n = len(samples)
            # the iteration cap ends a point only once its minimum duration has been timed
            if n >= cfg.max_iterations and clock() - t0 >= cfg.min_duration_s:
                reason = "max_iterations"
                break
            if n >= 3 and clock() - t0 >= cfg.time_budget_s:
                reason = "time_budget"
                break
        if len(samples) - start == cfg.round_iterations:
            round_medians.append(statistics.median(samples[start:]))
            spread = relative_spread(round_medians[-cfg.stable_rounds:]) if len(round_medians) >= cfg.stable_rounds else math.inf
            if len(samples) >= cfg.min_iterations and spread <= cfg.rel_spread and clock() - t0 >= cfg.min_duration_s:
                reason = "stable"
    wall = clock() - t0
    return tracker.result(wall, stable=reason == "stable", spread=spread, stop_reason=reason)


def confirmation(medians: list[float], met: list[bool], bound: float, need: int = CONFIRM_REPEATS) -> tuple[bool, str]:
    """(confirmed, why not): at least `need` repeats, each meeting its protocol's minimums, medians within `bound`."""
    if len(medians) < need:
        return False, f"{len(medians)} repeat(s); a confirmed point needs {need}"
    short = [str(i + 1) for i, ok in enumerate(met) if not ok]
    if short:
        return False, f"repeat(s) {', '.join(short)} below the protocol's minimum duration or sample count"
    spread = relative_spread(medians)
    if spread > bound:
        return False, f"repeats disagree: median spread {spread:.1%} > {bound:.0%}"
    return True, ""


def measure_repeated(fn: Callable[[], object], cfg: TimingConfig, timer: str = "cpu",
                     clock: Callable[[], float] = time.perf_counter, window=None, stream=None) -> LatencyStats:
    """`cfg.repeats` independent runs of `measure` (each with its warm-up and minimums); the point's median is the
    median of the repeat medians, and it is stable and confirmed only when the repeats agree within
    `cfg.repeat_spread` (a transient disturbance lands in one repeat and shows as disagreement)."""
    # the first repeat warms the point up; later ones need only a few calls to leave the timer's own state behind
    later = replace(cfg, warmup=min(cfg.warmup, 2))
    runs = [measure(fn, cfg if i == 0 else later, timer, clock=clock, window=window, stream=stream)
            for i in range(cfg.repeats)]
    medians = [r.median_ms for r in runs]
    met = [r.wall_s >= cfg.min_duration_s and r.iterations >= cfg.min_iterations for r in runs]
    confirmed, note = confirmation(medians, met, cfg.repeat_spread)
    spread = relative_spread(medians) if len(runs) > 1 else runs[0].spread
    agree = len(runs) == 1 or spread <= cfg.repeat_spread
    reasons = sorted({r.stop_reason for r in runs})
    samples = [x for r in runs for x in r.samples_ms]
    extra = {"repeats": len(runs), "repeat_medians_ms": ",".join(f"{m:.6g}" for m in medians),
             "repeat_stop_reasons": ",".join(r.stop_reason for r in runs), "confirmed": confirmed,
             "confirm_note": note}
    return LatencyStats.from_samples(samples, sum(r.wall_s for r in runs), stable=all(r.stable for r in runs) and agree,
                                     spread=spread, stop_reason=",".join(reasons), protocol="stable",
                                     median_ms=statistics.median(medians), extra=extra)
