"""Altair charts of a study: measurements versus batch, speed-up over the CPU, claims, tribunal, routing."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ..verdicts.hardware import key

CHARTS = ("throughput", "latency", "speedup", "claims", "tribunal", "routing")
ACTIVATION_COLUMNS = ("real_activations_per_token", "activations_per_token", "real_activations",
                      "expert_activations", "activations")
ONDEMAND = ("ondemand", "on_demand", "on-demand", "anyexperts", "budgeted")
TOPK_PREFERRED = ("top2", "topk2", "top_2", "top-2")
CHART_COLUMNS = ("suite", "device", "gpu_name", "model", "backend", "precision", "batch_size", "status",
                 "latency_ms_p50", "latency_ms_p99", "throughput_ips", "phase", "workload", "dispatch", "protocol", "level",
                 *ACTIVATION_COLUMNS)
# Columns that make rows of one device/backend/precision different measurements: a line never joins two.
CONTEXT_COLUMNS = ("phase", "workload", "dispatch", "protocol")


def context_label(df: pd.DataFrame, columns=CONTEXT_COLUMNS) -> pd.Series:
    """' / '-joined values of the context columns that vary in `df` ('' where none do)."""
    label = pd.Series([""] * len(df), index=df.index, dtype=object)
    for col in columns:
        if col in df.columns and df[col].fillna("").astype(str).nunique() > 1:
            label = label + " / " + df[col].fillna("-").astype(str)
    return label


def placeholder(text: str) -> alt.Chart:
    """A small chart that says why there is nothing to draw."""
    return alt.Chart(pd.DataFrame({"note": [text]})).mark_text(size=14, color="#57606a").encode(
        text="note:N").properties(width=420, height=60)


def batch_x(df: pd.DataFrame, title: str = "batch size") -> alt.X:
    """Batch size on a log2 axis, ticks at the measured batch sizes."""
    values = sorted({int(b) for b in df["batch_size"].dropna()})
    return alt.X("batch_size:Q", title=title, scale=alt.Scale(type="log", base=2),
                 axis=alt.Axis(values=values, format="d"))


def _ok(bench: pd.DataFrame) -> pd.DataFrame:
    if bench.empty:
        return bench
    ok = bench[(bench["status"] == "ok") & bench["throughput_ips"].notna()]
    ok = ok[[c for c in CHART_COLUMNS if c in ok.columns]].copy()  # only what the charts show: a small page
    ok["series"] = (ok["device"].astype(str) + " / " + ok["backend"].astype(str) + " / " + ok["precision"].astype(str)
                    + context_label(ok))
    return ok


def versus_batch(bench: pd.DataFrame, column: str, title: str, log_y: bool = True) -> alt.Chart:
    """One line per device/backend/precision (and phase/workload/dispatch/protocol where they vary) against batch size,
    one panel per model."""
    ok = _ok(bench)
    if ok.empty or ok[column].isna().all():
        return placeholder(f"no successful measurements for {title.lower()}")
    ok = ok[ok[column].notna() & (ok[column] > 0)]
    y = alt.Y(f"{column}:Q", title=title, scale=alt.Scale(type="log" if log_y else "linear"))
    return alt.Chart(ok).mark_line(point=True).encode(
        x=batch_x(ok), y=y,
        color=alt.Color("series:N", title="device / backend / precision / context"),
        tooltip=["series", "device", "gpu_name", "model", "backend", "precision", "batch_size",
                 alt.Tooltip(column, format=",.4g")],
    ).properties(width=300, height=220).facet(column=alt.Column("model:N", title=None))


def cpu_speedup(bench: pd.DataFrame, baseline_backends: set[str], baseline_precision: str) -> pd.DataFrame:
    """Throughput of every measurement over the CPU baseline's (same model and batch)."""
    ok = _ok(bench)
    if ok.empty:
        return ok
    cpu = ok[ok["device"].astype(str).str.lower().str.startswith("cpu")]
    # backend names compare as hardware.key() spells them (Hardware.backend_names gives that spelling)
    base = cpu[cpu["backend"].map(key).isin(baseline_backends)
               & (cpu["precision"].astype(str).str.lower() == str(baseline_precision).lower())]
    if base.empty:
        return base
    base = base.groupby(["model", "batch_size"], as_index=False)["throughput_ips"].max().rename(
        columns={"throughput_ips": "baseline_ips"})
    out = ok.merge(base, on=["model", "batch_size"])
    out["speedup"] = out["throughput_ips"] / out["baseline_ips"]
    return out


def speedup_chart(sp: pd.DataFrame) -> alt.Chart:
    """Speed-up over the CPU baseline against batch size."""
    if sp.empty:
        return placeholder("no CPU baseline measured at matching model and batch size")
    return alt.Chart(sp).mark_line(point=True).encode(
        x=batch_x(sp),
        y=alt.Y("speedup:Q", title="speed-up over CPU baseline (x)", scale=alt.Scale(type="log")),
        color=alt.Color("series:N", title="device / backend / precision"),
        tooltip=["series", "model", "batch_size", alt.Tooltip("speedup:Q", format=".3g"),
                 alt.Tooltip("throughput_ips:Q", format=",.4g"), alt.Tooltip("baseline_ips:Q", format=",.4g")],
    ).properties(width=300, height=220).facet(column=alt.Column("model:N", title=None))


def claims_chart(checks: pd.DataFrame, tolerance: float) -> alt.Chart:
    """Every checked claim: the claim at 1, the measurement at measured/claimed, with the tolerance band."""
    if checks.empty:
        return placeholder("no claims checked")
    rows = []
    for r in checks.to_dict("records"):
        label = f"{r['claim_id']} ({r.get('metric') or r.get('kind') or ''})"
        base = {"claim": label, "status": r["status"], "unit": r.get("unit") or "", "reason": r.get("reason") or "",
                "claimed_value": r.get("claimed_value"), "measured_value": r.get("measured_value")}
        if r["status"] == "NOT_EMPIRICAL":
            continue
        rows.append({**base, "what": "claimed", "relative": 1.0})
        ratio = r.get("ratio")
        if ratio is not None and not pd.isna(ratio) and ratio > 0:
            rows.append({**base, "what": "measured", "relative": float(ratio)})
    if not rows:
        return placeholder("no empirical claims")
    df = pd.DataFrame(rows)
    df = df.astype({"claimed_value": float, "measured_value": float})
    lo, hi = float(df["relative"].min()), float(df["relative"].max())
    scale = alt.Scale(type="log", domain=[min(lo, 1 - tolerance) / 1.5, max(hi, 1 + tolerance) * 1.5])
    band = alt.Chart(pd.DataFrame({"lo": [1 - tolerance], "hi": [1 + tolerance]})).mark_rect(
        opacity=0.15, color="#2da44e").encode(x=alt.X("lo:Q", scale=scale), x2="hi:Q")
    tip = ["claim", "status", "what", "claimed_value", "measured_value", "unit", "reason"]
    points = alt.Chart(df).mark_point(size=90, filled=True).encode(
        x=alt.X("relative:Q", title="value relative to the claim (claim = 1, log)", scale=scale),
        y=alt.Y("claim:N", title=None, sort=None),
        shape=alt.Shape("what:N", title=None, scale=alt.Scale(domain=["claimed", "measured"],
                                                               range=["diamond", "circle"])),
        color=alt.Color("status:N", scale=alt.Scale(
            domain=["REPRODUCED", "NOT_REPRODUCED", "UNTESTABLE"], range=["#2da44e", "#cf222e", "#8c959f"])),
        tooltip=tip)
    return (band + points).properties(width=520, height=max(80, 22 * df["claim"].nunique()),
                                      title="Claimed versus measured (green band: tolerance)")


def tribunal_chart(reviews: pd.DataFrame) -> alt.Chart:
    """Score by role and round."""
    if reviews.empty:
        return placeholder("no tribunal reviews")
    df = reviews[["round", "role", "score"]].copy()
    df["round"] = "round " + df["round"].astype(int).astype(str)
    return alt.Chart(df).mark_bar().encode(
        x=alt.X("role:N", title=None, sort=["SKEPTIC", "VALIDATOR", "SYNTHESIZER"]),
        xOffset="round:N", y=alt.Y("score:Q", scale=alt.Scale(domain=[0, 10]), title="score (0-10)"),
        color=alt.Color("round:N", title=None), tooltip=["role", "round", alt.Tooltip("score:Q", format=".2f")],
    ).properties(width=360, height=220, title="Tribunal score by role and round")


def _activation_column(df: pd.DataFrame) -> str | None:
    return next((c for c in ACTIVATION_COLUMNS if c in df.columns and df[c].notna().any()), None)


def routing_rows(bench: pd.DataFrame) -> pd.DataFrame:
    """Successful moe_routing rows of the grouped dispatch (when measured), with a phase / workload panel."""
    ok = _ok(bench)
    ok = ok[ok["suite"] == "moe_routing"].copy() if not ok.empty else ok
    if ok.empty:
        return ok
    if "dispatch" in ok and (ok["dispatch"] == "grouped").any():
        ok = ok[ok["dispatch"] == "grouped"].copy()
    for col in ("phase", "workload"):
        if col not in ok:
            ok[col] = "all"
        ok[col] = ok[col].fillna("all").astype(str)
    ok["panel"] = ok["phase"] + " / " + ok["workload"]
    if "level" in ok:  # model-level rows (whole MoE-LLaVA-shaped model, e2e per request) get their own panels
        model = ok["level"].astype(str).eq("model")
        ok.loc[model, "panel"] = "whole model, e2e per request / " + ok.loc[model, "workload"]
    # inside a panel, one line per strategy and per whatever else varies (device, precision, protocol)
    ok["line"] = ok["backend"].astype(str) + context_label(ok, ("device", "precision", "dispatch", "protocol"))
    return ok


def routing_speedup(bench: pd.DataFrame) -> pd.DataFrame:
    """Per panel and batch: latency of top-k over on-demand (speed-up) and on-demand's cut in activations."""
    ok = routing_rows(bench)
    if ok.empty:
        return ok
    strat = ok["backend"].astype(str).str.lower()
    ond = ok[strat.isin(ONDEMAND)]
    names = [s for s in TOPK_PREFERRED if s in set(strat)] or sorted(s for s in set(strat) if s.startswith("top"))
    if ond.empty or not names:
        return ok.iloc[0:0]
    top = ok[strat == names[0]]
    keys = [k for k in ("device", "model", "precision", "phase", "workload", "panel", "batch_size") if k in ok.columns]
    act = _activation_column(ok)
    cols = keys + ["latency_ms_p50"] + ([act] if act else [])
    m = ond[cols].groupby(keys, as_index=False).min().merge(top[cols].groupby(keys, as_index=False).min(),
                                                             on=keys, suffixes=("_ondemand", "_topk"))
    m["speedup"] = m["latency_ms_p50_topk"] / m["latency_ms_p50_ondemand"]
    m["activation_reduction"] = (1 - m[f"{act}_ondemand"] / m[f"{act}_topk"]) if act else np.nan
    m["topk_strategy"] = names[0]
    return m.sort_values(["panel", "batch_size"])


def routing_chart(bench: pd.DataFrame) -> alt.Chart:
    """Latency and throughput versus batch per strategy; on-demand's speed-up over top-k next to its activation cut."""
    ok = routing_rows(bench)
    if ok.empty:
        return placeholder("no moe_routing measurements")
    x = batch_x(ok, "batch size (samples)")
    tip = ["backend", "device", "precision", "phase", "workload", "batch_size", "latency_ms_p50", "throughput_ips"]
    base = alt.Chart(ok).encode(x=x, color=alt.Color("backend:N", title="routing strategy"), detail="line:N",
                                tooltip=["line", *tip])
    lat = base.mark_line(point=True).encode(y=alt.Y("latency_ms_p50:Q", title="latency p50 (ms)",
                                                    scale=alt.Scale(type="log"))).properties(width=180, height=160)
    thr = base.mark_line(point=True).encode(y=alt.Y("throughput_ips:Q", title="samples/s",
                                                    scale=alt.Scale(type="log"))).properties(width=180, height=160)
    col = alt.Column("panel:N", title=None)
    charts = [lat.facet(column=col), thr.facet(column=col)]
    sp = routing_speedup(bench)
    if not sp.empty:
        long = pd.concat([pd.DataFrame({"panel": sp["panel"], "batch_size": sp["batch_size"], "value": sp["speedup"],
                                        "measure": "speed-up of on-demand over " + sp["topk_strategy"] + " (x)"}),
                          pd.DataFrame({"panel": sp["panel"], "batch_size": sp["batch_size"],
                                        "value": 1 - sp["activation_reduction"],
                                        "measure": "on-demand / top-k real activations"})]).dropna()
        cmp_chart = alt.Chart(long).mark_line(point=True).encode(
            x=x, y=alt.Y("value:Q", title="ratio (log)", scale=alt.Scale(type="log")), color=alt.Color("measure:N", title=None),
            tooltip=["measure", "panel", "batch_size", alt.Tooltip("value:Q", format=".3f")]).properties(width=180, height=160)
        charts.append(cmp_chart.facet(column=col))
    return alt.vconcat(*charts).resolve_scale(color="independent")


def build(bench: pd.DataFrame, checks: pd.DataFrame, reviews: pd.DataFrame, tolerance: float,
          baseline_backends: set[str], baseline_precision: str) -> dict[str, dict]:
    """Vega-Lite specs of every chart of a study, by name (CHARTS)."""
    charts = {
        "throughput": versus_batch(bench, "throughput_ips", "Throughput (items/s)"),
        "latency": versus_batch(bench, "latency_ms_p50", "Latency p50 (ms)"),
        "speedup": speedup_chart(cpu_speedup(bench, baseline_backends, baseline_precision)),
        "claims": claims_chart(checks, tolerance),
        "tribunal": tribunal_chart(reviews),
        "routing": routing_chart(bench),
    }
    return {name: c.to_dict() for name, c in charts.items()}
