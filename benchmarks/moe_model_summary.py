"""Model-level routing tables from moe_routing rows: per workload and batch, each strategy's e2e latency and MoE shares.

    python benchmarks/moe_model_summary.py benchmarks/results/h200-moe-llava/model_*.parquet

Prints, per workload, the median end-to-end latency per request (ms) by batch size and strategy,
then top-2's timed MoE share of prefill and decode, then on-demand's and budget0.6top2's change
against top-2 in e2e latency and in the MoE layers' own time. Rows whose status is not ok are left out.
"""
from __future__ import annotations

import sys

import pandas as pd


def main(paths: list[str]) -> int:
    """Print the tables for the given Parquet files."""
    df = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    df = df[(df["status"] == "ok") & (df.get("level", "model") == "model")]
    pd.set_option("display.width", 200)
    for wl, g in df.groupby("workload"):
        print(f"\n## {wl}: e2e latency per request, p50 ms (rows: batch size; columns: strategy)")
        print(g.pivot_table(index="batch_size", columns="backend", values="e2e_ms_p50").round(1).to_string())
        t = g[g["backend"] == "topk2"].set_index("batch_size")
        print(f"\n{wl}: top-2's MoE share (timed): prefill, decode; TTFT and TPOT p50 ms")
        print(t[["moe_share_prefill", "moe_share_decode", "ttft_ms_p50", "tpot_ms_p50", "samples_per_s"]].round(3).to_string())
        for s in ("ondemand", "budget0.6top2"):
            o = g[g["backend"] == s].set_index("batch_size")
            if o.empty or t.empty:
                continue
            ch = pd.DataFrame({"e2e_change_pct": (o["e2e_ms_p50"] / t["e2e_ms_p50"] - 1) * 100,
                               "moe_prefill_change_pct": (o["moe_prefill_ms_mean"] / t["moe_prefill_ms_mean"] - 1) * 100,
                               "moe_decode_change_pct": (o["moe_decode_ms_per_step"] / t["moe_decode_ms_per_step"] - 1) * 100,
                               "real_act_per_token": o["real_act_per_token"]})
            print(f"\n{wl}: {s} against top-2")
            print(ch.round(1).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
