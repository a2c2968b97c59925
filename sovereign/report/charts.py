"""Altair charts of a study: measurements versus batch, speed-up over the CPU, claims, tribunal, routing."""
from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd

from ..verdicts.hardware import key
from ..verdicts.match import ROUTING_SUITE
from .markup import shorten

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


def _ran_on(bench_rows) -> str:
    """The hardware a check's rows ran on, as recorded."""
    try:
        rows = json.loads(bench_rows) if isinstance(bench_rows, str) and bench_rows else []
    except ValueError:
        return ""
    return ", ".join(sorted({str(r["hardware"]) for r in rows if isinstance(r, dict) and r.get("hardware")}))


def _num(v) -> str:
    return "" if v is None or pd.isna(v) else f"{float(v):,.4g}"


def claims_chart(checks: pd.DataFrame, tolerance: float) -> alt.Chart | None:
    """Every tested claim by its words: the claim at 1, the measurement at measured/claimed, each point labelled
    with its number (and the measurement with the device it ran on), with the tolerance band."""
    if checks.empty:
        return None
    rows = []
    for r in checks.to_dict("records"):
        words = r.get("sentence") if isinstance(r.get("sentence"), str) else ""
        label = f"{shorten(words, 46)} [{str(r['claim_id'])[:8]}]" if words else str(r["claim_id"])
        unit = r.get("unit") if isinstance(r.get("unit"), str) else ""
        device = _ran_on(r.get("bench_rows"))
        base = {"claim": label, "words": words, "status": r["status"], "unit": unit, "reason": r.get("reason") or "",
                "claimed_value": r.get("claimed_value"), "measured_value": r.get("measured_value"), "device": device}
        if r["status"] == "NOT_EMPIRICAL":
            continue
        ratio = r.get("ratio")
        if ratio is None or pd.isna(ratio) or ratio <= 0:
            continue  # nothing measured to set against it: the claims table says why
        text = (f"claimed {_num(r.get('claimed_value'))} {unit}, measured {_num(r.get('measured_value'))} {unit}"
                + (f" on {device}" if device else ""))
        rows.append({**base, "what": "claimed", "relative": 1.0, "text": text})
        rows.append({**base, "what": "measured", "relative": float(ratio), "text": text})
    if not rows:
        return None
    df = pd.DataFrame(rows)
    df = df.astype({"claimed_value": float, "measured_value": float})
    lo, hi = float(df["relative"].min()), float(df["relative"].max())
    scale = alt.Scale(type="log", domain=[min(lo, 1 - tolerance) / 1.5, max(hi, 1 + tolerance) * 1.5])
    band = alt.Chart(pd.DataFrame({"lo": [1 - tolerance], "hi": [1 + tolerance]})).mark_rect(
        opacity=0.15, color="#2da44e").encode(x=alt.X("lo:Q", scale=scale), x2="hi:Q")
    tip = ["words", "status", "what", "claimed_value", "measured_value", "unit", "device", "reason"]
    y = alt.Y("claim:N", title=None, sort=None, axis=alt.Axis(labelLimit=330))
    # the numbers beside each claim's row, in a column of their own: labels never sit on each other's points
    text = alt.Chart(df[df["what"] == "claimed"]).mark_text(align="left", fontSize=11, color="#1b1f24").encode(
        x=alt.value(0), y=alt.Y("claim:N", sort=None, axis=None), text="text:N").properties(width=330)
    points = alt.Chart(df).mark_point(size=90, filled=True).encode(
        x=alt.X("relative:Q", title="value relative to the claim (claim = 1, log)", scale=scale),
        y=y,
        shape=alt.Shape("what:N", title=None, scale=alt.Scale(domain=["claimed", "measured"],
                                                               range=["diamond", "circle"])),
        color=alt.Color("status:N", scale=alt.Scale(
            domain=["REPRODUCED", "NOT_REPRODUCED", "UNTESTABLE"], range=["#2da44e", "#cf222e", "#8c959f"])),
        tooltip=tip)
    height = max(80, 24 * df["claim"].nunique())
    return alt.hconcat((band + points).properties(width=400, height=height),
                       text.properties(height=height), spacing=8,
                       title="Claimed versus measured (green band: tolerance)").resolve_scale(y="shared") \
        .configure_view(strokeWidth=0)


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
    ok = ok[ok["suite"] == ROUTING_SUITE].copy() if not ok.empty else ok
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
          baseline_backends: set[str], baseline_precision: str, on_frame: pd.DataFrame | None = None) -> dict[str, dict]:
    """Vega-Lite specs of the charts that have something to show, by name (CHARTS order). Measurement charts
    draw only `on_frame` rows (those bearing on the study's question; all rows when None); the speed-up chart
    divides by the CPU baseline of all rows but draws only on-frame series."""
    rows = bench if on_frame is None else on_frame
    ok = _ok(rows)
    sp = cpu_speedup(bench, baseline_backends, baseline_precision)
    if len(sp) and on_frame is not None:
        sp = sp[sp["series"].isin(set(ok["series"]))] if len(ok) else sp.iloc[0:0]
    cnn = rows[rows["suite"] != ROUTING_SUITE] if "suite" in rows else rows  # the routing chart draws those
    charts = {
        "throughput": versus_batch(cnn, "throughput_ips", "Throughput (items/s)") if _cnn(ok) else None,
        "latency": versus_batch(cnn, "latency_ms_p50", "Latency p50 (ms)") if _cnn(ok) else None,
        "speedup": speedup_chart(sp) if len(sp) else None,
        "claims": claims_chart(checks, tolerance),
        "tribunal": tribunal_chart(reviews) if not reviews.empty else None,
        "routing": routing_chart(rows) if len(routing_rows(rows)) else None,
    }
    # legends below the plot: a long series name never runs off the page's right edge
    return {name: c.configure_legend(orient="bottom", direction="vertical", columns=2, labelLimit=420,
                                       titleLimit=0).to_dict()
            for name, c in charts.items() if c is not None}


def _cnn(ok: pd.DataFrame) -> bool:
    """Whether there are measurements other than routing rows (the routing chart draws those)."""
    return bool(len(ok)) and bool((ok["suite"] != ROUTING_SUITE).any())
