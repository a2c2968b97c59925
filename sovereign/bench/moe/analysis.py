"""Tables that answer the routing study from `moe_routing` rows: latency per strategy and batch, and speed-up vs activations."""
from __future__ import annotations

import pandas as pd

KEYS = ["workload", "phase", "dispatch", "batch_size"]


def ok_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The suite's measured rows (status ok)."""
    return df[(df["suite"] == "moe_routing") & (df["status"] == "ok")]


def latency_table(df: pd.DataFrame, workload: str, phase: str, dispatch: str) -> pd.DataFrame:
    """Median latency (ms) by batch size (rows) and strategy (columns)."""
    d = ok_rows(df)
    d = d[(d.workload == workload) & (d.phase == phase) & (d.dispatch == dispatch)]
    return d.pivot_table(index="batch_size", columns="backend", values="latency_ms_p50")


def speedup_table(df: pd.DataFrame, strategy: str = "ondemand", baseline: str = "topk2") -> pd.DataFrame:
    """Per workload, phase, dispatch and batch: latency and real activations of `strategy` against `baseline`."""
    d = ok_rows(df)
    cols = ["latency_ms_p50", "latency_ms_p99", "real_act_per_token", "virtual_act_per_token", "throughput_ips",
            "tokens_per_s", "arithmetic_intensity", "bound", "achieved_tflops_share"]
    a = d[d.backend == strategy].set_index(KEYS)[cols]
    b = d[d.backend == baseline].set_index(KEYS)[cols]
    t = a.join(b, lsuffix="", rsuffix="_base", how="inner")
    out = pd.DataFrame({
        "latency_ms": t.latency_ms_p50, "latency_ms_base": t.latency_ms_p50_base,
        "speedup": t.latency_ms_p50_base / t.latency_ms_p50,
        "latency_saving": 1 - t.latency_ms_p50 / t.latency_ms_p50_base,
        "real_act": t.real_act_per_token, "real_act_base": t.real_act_per_token_base,
        "activation_saving": 1 - t.real_act_per_token / t.real_act_per_token_base,
        "virtual_act": t.virtual_act_per_token, "bound_base": t.bound_base,
        "intensity_base": t.arithmetic_intensity_base})
    out.insert(0, "strategy", strategy)
    out.insert(1, "baseline", baseline)
    return out.reset_index().sort_values(KEYS)
