"""The routing answer: on-demand routing against the top-k baselines, per device, as one sentence and a small
table (batch size down, strategies across, p50 latency and real activations per token in the cells)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .answer_parts import claims_on, comparison, hw, origin_note, pct, row_label, span
from .match import ROUTING_SUITE, Bench
from .routing_answer import block_rows, model_level_comparisons

BASELINES = (("topk2", "top-2"), ("topk1", "top-1"))
ONDEMAND = "ondemand"


def routing_answers(frame: dict, checks: pd.DataFrame, bench: Bench, claims=None) -> list[dict]:
    """The answer builder of a routing question: one entry per device the routing rows ran on (never pooled)."""
    if "expert routing" not in frame.get("method_families", []):
        return []
    df = bench.df
    rows = df[(df["suite"] == ROUTING_SUITE) & df["_ok"] & df["_decides"]] if len(df) else df
    rows = block_rows(rows)  # model-level rows are answered end-to-end per request (routing_answer.py)
    bearing = claims_on(checks)
    model = model_level_comparisons(bench, bearing, hw, origin_note)
    if rows.empty or ONDEMAND not in set(rows["_backend"]):
        return model or [comparison("on-demand vs top-k routing", "This run measured no on-demand routing rows, so how "
                           "on-demand compares with top-k is not answered here.", checks, bearing,
                           missing=["on-demand vs top-k latency: run the moe_routing suite (bench.devices)"])]
    phases = (frame.get("scope") or {}).get("phase") or []
    if phases and "phase" in rows:  # the phases the question names, all when it names none
        rows = rows[rows["phase"].isin(phases)]
    batches = (frame.get("scope") or {}).get("batch_size") or []
    if batches:
        rows = rows[rows["batch_size"].isin(batches)]
    disp = "grouped" if "dispatch" in rows and (rows["dispatch"] == "grouped").any() else None
    if disp:
        rows = rows[rows["dispatch"] == disp]
    groups = list(rows.groupby("_devlabel"))
    if "origin" in rows:  # this run's rows before reference ones
        groups.sort(key=lambda kv: (kv[1]["origin"] == "reference").all())
    suffix = len(groups) > 1
    return [x for _, g in groups if (x := _device_answer(g, disp, bearing, checks, suffix)) is not None] + model


def _pairs(rows: pd.DataFrame, base: str, disp) -> list[dict]:
    """On-demand against one baseline at every (phase, workload, batch size) both ran."""
    out = []
    for (phase, wl, b), g in rows.groupby(["phase", "workload", "batch_size"], dropna=False):
        od, tk = g[g["_backend"] == ONDEMAND], g[g["_backend"] == base]
        if od.empty or tk.empty:
            continue
        o, t = od.iloc[0], tk.iloc[0]
        layers = float(o.get("layers") or 1)
        out.append({"phase": None if pd.isna(phase) else phase, "workload": wl, "batch_size": int(b), "dispatch": disp,
                    "baseline": base, "latency_ms_ondemand": float(o["latency_ms_p50"]),
                    f"latency_ms_{base}": float(t["latency_ms_p50"]),
                    "latency_change_pct": pct(o["latency_ms_p50"], t["latency_ms_p50"]),
                    "ms_per_layer_ondemand": float(o["latency_ms_p50"]) / layers,
                    f"ms_per_layer_{base}": float(t["latency_ms_p50"]) / layers,
                    "real_act_per_token_ondemand": float(o.get("real_act_per_token", np.nan)),
                    f"real_act_per_token_{base}": float(t.get("real_act_per_token", np.nan)),
                    "_keys": [row_label(o), row_label(t)]})
    return out


def _table(rows: pd.DataFrame, strategies: list[tuple[str, str]]) -> dict:
    """Batch size down (per phase), strategies across; a cell: median p50 ms and real activations per token."""
    rows = rows if "phase" in rows else rows.assign(phase=None)
    phases = sorted(rows["phase"].dropna().unique())
    cols = (["phase"] if len(phases) > 1 else []) + ["batch"] + [name for _, name in strategies]
    out = []
    for (phase, b), g in rows.groupby(["phase", "batch_size"], dropna=False):
        cells = []
        for s, _ in strategies:
            x = g[g["_backend"] == s]
            act = pd.to_numeric(x.get("real_act_per_token"), errors="coerce").median() if len(x) else np.nan
            cells.append(f"{x['latency_ms_p50'].median():.3g} ms · {act:.2f} act" if len(x) and np.isfinite(act)
                         else f"{x['latency_ms_p50'].median():.3g} ms" if len(x) else "–")
        out.append(([phase] if len(phases) > 1 else []) + [int(b)] + cells)
    return {"columns": cols, "rows": out, "note": "p50 latency (median over workloads) · real experts per token"}


def _device_answer(rows: pd.DataFrame, disp, bearing: list[dict], checks: pd.DataFrame, suffix: bool) -> dict | None:
    """On-demand against each top-k baseline on one device: one sentence, one table, the contexts in details."""
    details, acts = [], []
    for base, name in BASELINES:
        if base in set(rows["_backend"]):
            details += _pairs(rows, base, disp)
    if not details:
        return None
    spans = []  # per phase, against each baseline: the phases differ too much to pool
    for phase in sorted({d["phase"] for d in details}, key=str):
        per = [f"{span([d['latency_change_pct'] for d in details if d['phase'] == phase and d['baseline'] == b])} "
               f"against {n}" for b, n in BASELINES if any(d["baseline"] == b for d in details)]
        spans.append(" and ".join(per) + (f" in {phase}" if phase else ""))
    acts = [pct(d["real_act_per_token_ondemand"], d["real_act_per_token_topk2"]) for d in details
            if d["baseline"] == "topk2"]
    lat2 = [d["latency_change_pct"] for d in details if d["baseline"] == "topk2"]
    why = ("" if not acts or not lat2 else ", so latency moves with the activations"
           if all((a < 0) == (x < 0) for a, x in zip(acts, lat2))
           else ", yet fewer real activations do not show as lower latency on this block"
           if np.median(acts) < 0 < np.median(lat2) else ", and latency and activations move differently across batch sizes")
    used = rows[rows["_backend"].isin([ONDEMAND] + [b for b, _ in BASELINES])]
    origin, note = origin_note(used)
    batches = sorted({d["batch_size"] for d in details})
    act_txt = f", while it activates {span(acts)} real experts per token relative to top-2" if acts else ""
    headline = (f"{note}On {hw(used)}, {disp or 'default'} dispatch, synthetic shape-matched workloads, batch sizes "
                f"{', '.join(map(str, batches))}: on-demand routing's p50 latency is {'; '.join(spans)}{act_txt}{why}.")
    cond = [f"Conditional on claim {c['claim_id']}: {c['reason']}" for c in bearing if c["status"] == "CONDITIONAL"]
    strategies = [(ONDEMAND, "on-demand")] + [(b, n) for b, n in BASELINES if b in set(rows["_backend"])]
    entry = comparison(f"on-demand vs top-k routing{' on ' + hw(used) if suffix else ''}", headline, checks, bearing,
                       measured=[k for d in details for k in d["_keys"]], table=_table(used, strategies),
                       details=[{k: v for k, v in d.items() if k != "_keys"} for d in details], origin=origin)
    if cond:
        entry["finding"] = headline + " " + " ".join(cond)
    return entry
