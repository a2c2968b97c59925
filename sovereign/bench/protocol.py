"""Named measurement protocols: how one point is timed, recorded as `protocol` in every row.

- `stable`: the adaptive rule of `tracker.measure` (rounds until the medians agree), with a
  minimum timed duration, run `timing.repeats` times; the repeats' medians must agree within
  `timing.repeat_spread` for the point to be stable and confirmed.
- `deepgap`: the DEEP-GAP method: 20 warm-up and 100 timed iterations, repeated 3 times;
  throughput from the median latency (here the median of the three repeats' medians).
- `mlperf`: MLPerf single-stream style: one query after the other for at least a minimum
  duration (600 s in MLPerf's rules) and a minimum query count, with the early-stopping
  bounds of the tail percentiles (the latency that, at the given confidence, the true
  percentile does not exceed, from a binomial test on the observed over-latency count).
"""
from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field, fields

from .errors import BenchConfigError
from .tracker import (LatencyStats, LatencyTracker, NoWindow, TimingConfig, confirmation, measure_repeated,
                      relative_spread, synchronize)

PROTOCOLS = ("stable", "deepgap", "mlperf")


def _positive_int(key: str, value, minimum: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise BenchConfigError(f"config key '{key}': expected an integer >= {minimum}, got {value!r}")


@dataclass
class DeepGapSettings:
    """DEEP-GAP's fixed counts: warm-up and timed iterations per repeat, and repeats."""

    warmup: int = 20
    iterations: int = 100
    repeats: int = 3

    def __post_init__(self):
        for name in ("warmup", "iterations", "repeats"):
            _positive_int(f"protocol_settings.deepgap.{name}", getattr(self, name), 0 if name == "warmup" else 1)


@dataclass
class MlperfSettings:
    """MLPerf-style minimum duration and query count, warm-up, and the early-stopping confidence."""

    min_duration_s: float = 600.0
    min_queries: int = 1024
    warmup: int = 10
    confidence: float = 0.99
    percentiles: list = field(default_factory=lambda: [90, 99])

    def __post_init__(self):
        key = "protocol_settings.mlperf"
        if not (isinstance(self.min_duration_s, (int, float)) and self.min_duration_s > 0):
            raise BenchConfigError(f"config key '{key}.min_duration_s': expected a positive number, got {self.min_duration_s!r}")
        _positive_int(f"{key}.min_queries", self.min_queries)
        _positive_int(f"{key}.warmup", self.warmup, 0)
        if not (isinstance(self.confidence, (int, float)) and 0.5 <= self.confidence < 1):
            raise BenchConfigError(f"config key '{key}.confidence': expected a number in [0.5, 1), got {self.confidence!r}")
        if not all(isinstance(p, (int, float)) and 0 < p < 100 for p in self.percentiles):
            raise BenchConfigError(f"config key '{key}.percentiles': expected numbers in (0, 100), got {self.percentiles!r}")


@dataclass
class ProtocolSettings:
    """Settings of the fixed-count and fixed-duration protocols (the stable one uses `timing`)."""

    deepgap: DeepGapSettings = field(default_factory=DeepGapSettings)
    mlperf: MlperfSettings = field(default_factory=MlperfSettings)

    @classmethod
    def from_config(cls, section: dict | None) -> "ProtocolSettings":
        """Build from `protocol_settings`; an unknown key is an error naming it."""
        s = dict(section or {})
        known = {f.name: f.type for f in fields(cls)}
        extra = sorted(set(s) - set(known))
        if extra:
            raise BenchConfigError(f"config key 'protocol_settings.{extra[0]}': not a protocol with settings; use {sorted(known)}")
        try:
            return cls(deepgap=DeepGapSettings(**(s.get("deepgap") or {})),
                       mlperf=MlperfSettings(**(s.get("mlperf") or {})))
        except TypeError as exc:
            raise BenchConfigError(f"config key 'protocol_settings': {exc}") from None


def check_protocols(names, key: str) -> list[str]:
    """The protocol list, or an error naming the key and the unknown protocol."""
    names = list(names or [])
    if not names:
        raise BenchConfigError(f"config key '{key}': expected a non-empty list of protocols from {list(PROTOCOLS)}")
    for name in names:
        if name not in PROTOCOLS:
            raise BenchConfigError(f"config key '{key}': {name!r} is not a protocol; use one of {list(PROTOCOLS)}")
    return names


def _log_binom_cdf(t: int, n: int, q: float) -> float:
    """log P(X <= t) for X ~ Binomial(n, q), summed in log space (n may be millions)."""
    log_pmf = n * math.log1p(-q)
    ratio = math.log(q) - math.log1p(-q)
    acc = log_pmf
    for k in range(t):
        log_pmf += math.log(n - k) - math.log(k + 1) + ratio
        acc = max(acc, log_pmf) + math.log1p(math.exp(-abs(acc - log_pmf)))
    return acc


def early_stopping_bound(sorted_ms: list[float], percentile: float, confidence: float = 0.99) -> tuple[float | None, str]:
    """The latency the true `percentile` stays under at `confidence`, MLPerf early-stopping style; or (None, why).

    With n queries of which t exceed a latency L, the percentile is <= L at that confidence when
    P(Binomial(n, 1 - percentile/100) <= t) <= 1 - confidence. The bound is the smallest sorted
    latency for which that holds: the (t+1)-th largest sample for the largest admissible t.
    """
    n, q, alpha = len(sorted_ms), 1 - percentile / 100.0, 1 - confidence
    log_alpha = math.log(alpha)
    if n == 0 or _log_binom_cdf(0, n, q) > log_alpha:
        need = math.ceil(math.log(alpha) / math.log1p(-q))
        return None, (f"early-stopping p{percentile:g} needs at least {need} queries at {confidence:g} confidence, "
                      f"this point has {n}")
    lo, hi = 0, n - 1  # the largest t with cdf(t) <= alpha (the cdf grows with t)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _log_binom_cdf(mid, n, q) <= log_alpha:
            lo = mid
        else:
            hi = mid - 1
    return sorted_ms[n - 1 - lo], ""


def _deepgap(fn, s: DeepGapSettings, timer: str, window, stream, bound: float = 0.10) -> LatencyStats:
    samples: list[float] = []
    medians: list[float] = []
    wall = 0.0
    for _ in range(s.repeats):
        for _ in range(s.warmup):
            fn()
        synchronize(timer)
        tracker = LatencyTracker(timer, stream)
        t0 = time.perf_counter()
        with window.segment():
            for _ in range(s.iterations):
                with tracker:
                    fn()
        wall += time.perf_counter() - t0
        medians.append(statistics.median(tracker.samples_ms))
        samples.extend(tracker.samples_ms)
    spread = relative_spread(medians) if len(medians) > 1 else 0.0
    # the fixed iteration count is DEEP-GAP's own minimum, so every repeat meets it; the medians must agree
    confirmed, note = confirmation(medians, [True] * len(medians), bound)
    extra = {"repeats": s.repeats, "iterations_per_repeat": s.iterations, "protocol_warmup": s.warmup,
             "repeat_medians_ms": ",".join(f"{m:.6g}" for m in medians), "confirmed": confirmed, "confirm_note": note}
    return LatencyStats.from_samples(samples, wall, stable=spread <= bound, spread=spread, stop_reason="fixed",
                                     protocol="deepgap", median_ms=statistics.median(medians), extra=extra)


def _mlperf(fn, s: MlperfSettings, timer: str, window, stream, clock=time.perf_counter) -> LatencyStats:
    for _ in range(s.warmup):
        fn()
    synchronize(timer)
    tracker = LatencyTracker(timer, stream)
    t0 = clock()
    with window.segment():
        while True:
            with tracker:
                fn()
            if len(tracker.samples_ms) >= s.min_queries and clock() - t0 >= s.min_duration_s:
                break
    wall = clock() - t0
    ordered = sorted(tracker.samples_ms)
    extra = {"mlperf_min_duration_s": float(s.min_duration_s), "mlperf_min_queries": s.min_queries,
             "protocol_warmup": s.warmup, "early_stopping_confidence": s.confidence, "repeats": 1,
             "confirmed": False, "confirm_note": "mlperf times one long pass, not repeats: unconfirmed"}
    for p in s.percentiles:
        bound, note = early_stopping_bound(ordered, p, s.confidence)
        extra[f"early_stopping_p{p:g}_ms"] = bound
        extra[f"early_stopping_p{p:g}_note"] = note
    return LatencyStats.from_samples(tracker.samples_ms, wall, stable=True, spread=math.nan,
                                     stop_reason="min_duration", protocol="mlperf", extra=extra)


def run_protocol(name: str, fn, timing: TimingConfig, settings: ProtocolSettings, timer: str = "cpu",
                 window=None, stream=None) -> LatencyStats:
    """Time `fn` with protocol `name`; `window.segment()` brackets timed iterations only (never warm-up)."""
    window = window or NoWindow()
    if name == "stable":
        return measure_repeated(fn, timing, timer, window=window, stream=stream)
    if name == "deepgap":
        return _deepgap(fn, settings.deepgap, timer, window, stream, timing.repeat_spread)
    if name == "mlperf":
        return _mlperf(fn, settings.mlperf, timer, window, stream)
    raise BenchConfigError(f"unknown protocol {name!r}; use one of {list(PROTOCOLS)}")
