"""Claims that need an artefact we do not have, and the conditional measurement of a claimed routing budget.

An activation count of a trained router ("40% fewer real expert activations than top-2") is a property
of the paper's trained checkpoint: our routing suite's router is synthetic, and its counts follow from
configured priors, so such a claim is UNTESTABLE, naming the checkpoint. What the suite *can* measure is
what that budget would do on this hardware: the strategy `budget<share>top<k>` spends exactly the claimed
share of top-k's real activations, and its latency against top-k, per context (device, phase, workload,
dispatch) and batch size, is a conditional result ("if the claimed 40% holds, ..."), never a reproduction.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from .hardware import key
from .match import GENERIC_TOPK, ROUTING_SUITE, Bench, clean, row_key
from .plausibility import as_number



def needed_artefact(claim: dict) -> str:
    """What a claim about a trained router's behaviour needs that no suite here has."""
    method = clean(claim.get("subject_method")) or "the paper's method"
    name = {"anyexperts": "AnyExperts"}.get(method, method)
    return (f"the trained {name} checkpoint (its router and token-importance weights) and the evaluation data: "
            "the moe_routing suite's router is synthetic and its activation counts follow from configured priors, "
            "so it cannot measure the paper's")


def claimed_share(claim: dict) -> tuple[float, int] | None:
    """(share of top-k activations, k) that an activation claim states, e.g. -40% vs top-2 -> (0.6, 2)."""
    value, unit = as_number(claim.get("value")), clean(claim.get("unit"))
    v_from, v_to = as_number(claim.get("value_from")), as_number(claim.get("value_to"))
    if unit == "%" and value is not None:
        share = 1 + value / 100
    elif v_from and v_to is not None:
        share = v_to / v_from
    else:
        return None
    base = clean(claim.get("baseline_method")) or "top-2"
    digits = "".join(ch for ch in base if ch.isdigit())
    k = int(digits) if digits and base not in GENERIC_TOPK else 2  # a generic "top-k" baseline: top-2, as check.py
    return (round(share, 4), k) if 0 < share <= 1 else None


def _context(row: pd.Series) -> str:
    return "/".join(str(row.get(c)) for c in ("phase", "workload", "dispatch") if isinstance(row.get(c), str))


def conditional_budget(claim: dict, bench: Bench, metric: str = "latency_ms_p50") -> dict:
    """Latency of the claimed budget against top-k per context and batch size, from this run's routing rows."""
    got = claimed_share(claim)
    if got is None:
        return {"conditional": False, "finding": "", "rows": [], "contexts": []}
    share, k = got
    name, base = f"budget{share:g}top{k}", f"topk{k}"
    df = bench.df[(bench.df["suite"].map(clean) == ROUTING_SUITE) & bench.df["_ok"] & bench.df["_decides"]]
    sub, ref = df[df["_backend"] == key(name)], df[df["_backend"] == key(base)]
    if sub.empty or ref.empty:
        return {"conditional": False, "rows": [], "contexts": [],
                "finding": f"the claimed budget was not measured: add {name} (and {base}) to "
                           "bench.suites.moe_routing.<grid>.strategies"}
    # one device as its hardware record says, one model, dtype and setting: never paired across them
    cols = [c for c in ("_devlabel", "_model", "_precision", "_setting", "_ctx", "batch_size") if c in sub.columns]
    m = sub.merge(ref, on=cols, suffixes=("", "_ref"))
    m = m[m[metric].notna() & m[f"{metric}_ref"].notna() & (m[f"{metric}_ref"] > 0)]
    if m.empty:
        return {"conditional": False, "rows": [], "contexts": [], "finding": f"{name} and {base} share no context"}
    m["change_pct"] = (m[metric] / m[f"{metric}_ref"] - 1) * 100
    contexts, parts = [], []
    for (dev, ctx), g in m.groupby(["_devlabel", "_ctx"], sort=True):
        g = g.sort_values("batch_size")
        hw = next((h for h in g.get("_hw", pd.Series(dtype=object)) if isinstance(h, str) and h), dev)
        lo, hi = float(g["change_pct"].min()), float(g["change_pct"].max())
        contexts.append({"device": dev, "hardware": hw, "context": ctx, "batch_sizes": g["batch_size"].tolist(),
                         "change_pct": [round(float(x), 2) for x in g["change_pct"]],
                         "real_per_token": float(g["real_act_per_token"].mean())
                         if "real_act_per_token" in g and g["real_act_per_token"].notna().any() else None})
        span = f"{lo:+.0f}%" if abs(hi - lo) < 0.5 else f"{lo:+.0f}% to {hi:+.0f}%"
        parts.append(f"{ctx} on {hw}: {span} over batch {g['batch_size'].min()}-{g['batch_size'].max()}")
    finding = (f"if the claimed {abs(1 - share):.0%} fewer real activations than top-{k} holds, {metric} against "
               f"top-{k} changes by " + "; ".join(parts) + f" (strategy {name}, measured here; conditional)")
    rows = sorted({row_key(r) for r in m.to_dict("records")} | {row_key({**r, "backend": r["backend_ref"]})
                                                                  for r in m.to_dict("records")})
    return {"conditional": True, "finding": finding, "rows": rows, "contexts": contexts, "strategy": name}


def conditional_json(result: dict) -> str | None:
    """The per-context numbers of a conditional result as JSON (None when there is none)."""
    return json.dumps(result["contexts"]) if result.get("conditional") else None
