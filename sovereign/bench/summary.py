"""Best throughput per model and precision, and its share of a GPU's peak rate, from bench_results rows.

    python3 -m sovereign.bench.summary benchmarks/results/h200/cnn_*_h200.csv --peak fp32=67 --peak fp16=990
"""
from __future__ import annotations

import argparse
import sys

from .models import gflop_per_item

# Dense peaks of an H100/H200 SXM (TFLOP/s, vendor datasheet); TF32 tensor is half the FP16 rate.
H200_PEAKS = {"fp32": 67.0, "tf32": 495.0, "fp16": 990.0, "bf16": 990.0, "int8": 1979.0}


def best_points(df, peaks: dict[str, float] | None = None):
    """One row per (model, precision): the fastest ok point over backends, layouts and batch sizes, with % of peak."""
    peaks = peaks or H200_PEAKS
    ok = df[df["status"] == "ok"].copy()
    if ok.empty:
        return ok
    if "memory_format" not in ok:
        ok["memory_format"] = ""
    ok["tflops"] = ok["throughput_ips"] * ok["model"].map(gflop_per_item) / 1000.0
    ok["pct_of_peak"] = 100.0 * ok["tflops"] / ok["precision"].map(peaks)
    best = ok.loc[ok.groupby(["model", "precision"])["throughput_ips"].idxmax()]
    cols = ["model", "precision", "backend", "memory_format", "batch_size", "throughput_ips", "throughput_wall_ips",
            "latency_ms_p50", "latency_ms_p99", "tflops", "pct_of_peak", "peak_mem_mb", "energy_j_per_item"]
    return best[[c for c in cols if c in best]].sort_values(["model", "precision"]).reset_index(drop=True)


def main(argv=None) -> int:
    """Print the best-point table of the given result files as Markdown."""
    import pandas as pd

    from ..io import read_table

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", help="bench_results files (.parquet, .csv)")
    ap.add_argument("--peak", action="append", default=[], help="precision=TFLOP/s (default: H200 dense peaks)")
    args = ap.parse_args(argv)
    peaks = dict(H200_PEAKS)
    for item in args.peak:
        key, _, value = item.partition("=")
        peaks[key] = float(value)
    df = pd.concat([pd.read_csv(f) if f.endswith(".csv") else read_table(f) for f in args.files], ignore_index=True)
    table = best_points(df, peaks).round({"throughput_ips": 0, "throughput_wall_ips": 0, "latency_ms_p50": 3,
                                          "latency_ms_p99": 3, "tflops": 1, "pct_of_peak": 1, "peak_mem_mb": 0,
                                          "energy_j_per_item": 4})
    print(table.to_markdown(index=False) if hasattr(table, "to_markdown") else table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
