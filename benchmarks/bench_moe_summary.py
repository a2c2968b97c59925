"""Summarise moe_routing rows (Parquet files written by `sovereign moe` or bench_moe) as Markdown tables.

    python benchmarks/bench_moe_summary.py benchmarks/results/h200/moe_routing.parquet [--dispatch grouped]

Prints median latency per strategy and batch for each workload and phase, then the speed-up
of on-demand routing over top-2 (and top-1) next to its saving in real expert activations.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sovereign.bench.moe.analysis import latency_table, ok_rows, speedup_table  # noqa: E402


def main(argv=None) -> int:
    """Print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--dispatch", default="grouped", choices=["loop", "grouped", "graph"])
    ap.add_argument("--baselines", default="topk2,topk1")
    args = ap.parse_args(argv)
    df = pd.concat([pd.read_parquet(f) for f in args.files], ignore_index=True)
    d = ok_rows(df)
    print(f"rows: {len(df)} ({len(d)} ok); device(s): {sorted(set(df.gpu_name.dropna()) - {''}) or sorted(set(df.device))}")
    for workload in sorted(d.workload.unique()):
        for phase in ("prefill", "decode"):
            t = latency_table(df, workload, phase, args.dispatch)
            if t.empty:
                continue
            print(f"\n### {workload} {phase}, {args.dispatch} dispatch: median latency (ms)\n")
            print(t.round(3).to_markdown())
    for base in args.baselines.split(","):
        s = speedup_table(df, "ondemand", base)
        s = s[s.dispatch == args.dispatch]
        print(f"\n### ondemand vs {base} ({args.dispatch} dispatch)\n")
        cols = ["workload", "phase", "batch_size", "latency_ms", "latency_ms_base", "speedup", "latency_saving",
                "real_act", "real_act_base", "activation_saving", "bound_base", "intensity_base"]
        print(s[cols].round(3).to_markdown(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
