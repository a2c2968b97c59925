"""One benchmark point as a dataclass that flattens to one `bench_results` row.

The contract columns (sovereign/warehouse.py CONTRACT["bench_results"]) come first, then
extras: wall-time throughput, latency mean/std, stability, power and clocks, output
agreement, environment and config hash. Kept free of duckdb so GPU hosts can import it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .env import hardware_of
from .tracker import LatencyStats

# Mirrors sovereign.warehouse.CONTRACT["bench_results"] (a test keeps the two equal).
CONTRACT_COLUMNS = ("suite", "device", "gpu_name", "model", "backend", "precision", "batch_size", "status",
                    "reason", "latency_ms_p50", "latency_ms_p90", "latency_ms_p99", "throughput_ips",
                    "peak_mem_mb", "energy_j_per_item", "iterations", "origin", "hardware")
STATUSES = ("ok", "oom", "unavailable", "error", "mismatch")


def _num(value):
    """A float, or None for missing/NaN (so Parquet and DuckDB see NULL)."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


@dataclass
class BenchResult:
    """A measured (or refused) point: what ran, where, how fast, and why not when it did not."""

    suite: str
    device: str
    model: str
    backend: str
    precision: str
    batch_size: int
    status: str = "ok"
    reason: str = ""
    gpu_name: str = ""
    stats: LatencyStats | None = None
    peak_mem_mb: float | None = None
    power: dict = field(default_factory=dict)
    agreement: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    protocol: str = "stable"

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {STATUSES}")
        if self.status != "ok" and not self.reason:
            raise ValueError(f"a row with status {self.status!r} needs a reason")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")

    @property
    def energy_j_per_item(self) -> float | None:
        """Energy of the timed window divided by the items it processed (None without a readable counter)."""
        energy = self.power.get("energy_j")
        if energy is None or self.stats is None:
            return None
        return energy / (self.batch_size * self.stats.iterations)

    def to_row(self) -> dict:
        """Contract columns first, then every extra, as one flat dict."""
        st = self.stats
        row = {"suite": self.suite, "device": self.device, "gpu_name": self.gpu_name or self.env.get("gpu_name", ""),
               "model": self.model, "backend": self.backend, "precision": self.precision,
               "batch_size": int(self.batch_size), "status": self.status, "reason": self.reason,
               "latency_ms_p50": _num(st.median_ms) if st else None,
               "latency_ms_p90": _num(st.p90_ms) if st else None,
               "latency_ms_p99": _num(st.p99_ms) if st else None,
               "throughput_ips": _num(st.throughput_ips(self.batch_size)) if st else None,
               "peak_mem_mb": _num(self.peak_mem_mb),
               "energy_j_per_item": _num(self.energy_j_per_item),
               "iterations": int(st.iterations) if st else 0,
               # measured by this harness now (a reference file's rows are relabelled when read)
               "origin": "run"}
        row.update(hardware_of(self.env, self.gpu_name))
        row.update({
            "throughput_wall_ips": _num(st.throughput_wall_ips(self.batch_size)) if st else None,
            "latency_ms_mean": _num(st.mean_ms) if st else None,
            "latency_ms_std": _num(st.std_ms) if st else None,
            "latency_ms_min": _num(st.min_ms) if st else None,
            "timed_wall_s": _num(st.wall_s) if st else None,
            "stable": bool(st.stable) if st else None,
            "spread": _num(st.spread) if st else None,
            "stop_reason": st.stop_reason if st else "",
            "protocol": st.protocol if st else self.protocol,
            "latency_ms_p99_note": (st.p99_note if st else ""),
            "latency_ms_p90_note": (st.p90_note if st else ""),
            # a point that did not run was not repeated: it confirms nothing
            "repeats": 0, "confirmed": False, "confirm_note": "" if st else f"no measurement ({self.status})",
        })
        if st:
            row.update(st.extra)
        row.update({k: v for k, v in self.power.items()})
        row.update({f"agreement_{k}": v for k, v in self.agreement.items()})
        row.update({k: v for k, v in self.env.items() if k not in row})
        row.update(self.extras)
        return row


def rows_frame(rows: list[dict]):
    """A DataFrame of rows with the contract columns first (imports pandas lazily)."""
    import pandas as pd

    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in CONTRACT_COLUMNS})
    rest = [c for c in df.columns if c not in CONTRACT_COLUMNS]
    return df[list(CONTRACT_COLUMNS) + rest]


def write_job(rows: list[dict], report: dict, out_rows, out_report) -> None:
    """Write a bench job's rows (Parquet) and its report with the environment (JSON), each atomically; every suite's
    rule job ends with it."""
    from ..io import write_json, write_parquet

    write_parquet(out_rows, rows_frame(rows))
    write_json(out_report, report)
