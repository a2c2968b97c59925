"""The study's answer: for each comparison its question frame asks for, what this run measured (device as
the hardware recorded it, phase, batch sizes, the numbers), which on-frame claims bear on it and their
statuses, and what could not be tested with what would test it. The tribunal judges this answer."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from .llm_answer import llm_comparisons
from .match import ROUTING_SUITE, Bench, clean, row_key
from .routing_answer import block_rows, model_level_comparisons

ROUTING_BASELINES = (("topk2", "top-2"), ("topk1", "top-1"))
ONDEMAND = "ondemand"
DECIDING = ("REPRODUCED", "NOT_REPRODUCED")
# a device is what the row's hardware record resolves to (_devlabel), never the config entry's name
HW_NAMES = {"device": "_devlabel", "model": "_model", "backend": "_backend", "precision": "_precision"}


def _pct(a: float, b: float) -> float:
    return (a / b - 1) * 100


def _span(values, fmt="{:+.0f}%") -> str:
    vals = [v for v in values if v is not None and np.isfinite(v)]
    if not vals:
        return "n/a"
    lo, hi = min(vals), max(vals)
    return fmt.format(lo) if abs(hi - lo) < 1e-9 else f"{fmt.format(lo)} to {fmt.format(hi)}"


def _hw(rows: pd.DataFrame) -> str:
    names = sorted({str(x) for x in rows.get("_hw", pd.Series(dtype=object)).dropna()})
    devs = sorted(set(rows["_device"]))
    return f"{', '.join(names) or 'hardware not recorded'} (device entry {', '.join(devs)})"


def _key(r) -> str:
    ctx = "/".join(str(r.get(c)) for c in ("workload", "phase", "dispatch") if c in r and pd.notna(r.get(c)))
    return row_key(r) + (f"/{ctx}" if ctx else "")


def _claims_on(checks: pd.DataFrame, ids: set[str] | None = None) -> list[dict]:
    if checks is None or checks.empty:
        return []
    c = checks if ids is None else checks[checks["claim_id"].isin(ids)]
    return [{"claim_id": r["claim_id"], "status": r["status"], "reason": str(r.get("reason") or "")[:300],
             "conditional_finding": r.get("conditional_finding") if bool(r.get("conditional")) else None}
            for r in c.to_dict("records") if r["status"] != "NOT_EMPIRICAL"]


def _conditional(claims: list[dict], checks: pd.DataFrame) -> bool:
    if any(c["status"] == "CONDITIONAL" for c in claims):
        return True
    if checks is not None and "conditional" in checks and len(claims):
        flags = checks.set_index("claim_id")["conditional"].reindex([c["claim_id"] for c in claims])
        return bool(flags.fillna(False).astype(bool).any())
    return False


def _untested(claims: list[dict]) -> list[str]:
    # the reason up to its plausibility note: what is missing, not the arithmetic
    return [f"claim {c['claim_id']}: {c['reason'].split('; plausibility')[0].split('; conditional')[0]}" for c in claims
            if c["status"] in ("UNTESTABLE", "CONDITIONAL")]


def _origin_note(rows: pd.DataFrame) -> tuple[str, str]:
    """('run' | 'reference', a sentence prefix): reference rows were measured elsewhere, never by this run."""
    if "origin" not in rows or rows.empty or not (rows["origin"] == "reference").any():
        return "run", ""
    dates = sorted({str(d) for d in rows.get("reference_date", pd.Series(dtype=object)).dropna()})
    which = "Reference rows" if (rows["origin"] == "reference").all() else "Partly reference rows"
    return "reference", f"{which} (measured elsewhere{', ' + ', '.join(dates) if dates else ''}), not this run: "


def routing_comparisons(bench: Bench, checks: pd.DataFrame) -> list[dict]:
    """On-demand against top-2 and top-1, per phase, over batch sizes and workloads, from moe_routing rows."""
    df = bench.df
    rows = df[(df["suite"] == ROUTING_SUITE) & df["_ok"] & df["_decides"]] if len(df) else df
    rows = block_rows(rows)  # the model-level rows are answered by routing_answer (end-to-end per request)
    claims = _claims_on(checks)
    model = model_level_comparisons(bench, claims, _hw, _origin_note)
    if rows.empty or ONDEMAND not in set(rows["_backend"]):
        return model or [{"comparison": "on-demand vs top-k routing", "finding": "This run measured no on-demand routing rows, "
                 "so how on-demand compares with top-k is not answered here.", "measured": [], "claims": claims,
                 "conditional": _conditional(claims, checks),
                 "untested": ["on-demand vs top-k latency: run the moe_routing suite (bench.devices)"] + _untested(claims),
                 "details": []}]
    disp = "grouped" if "dispatch" in rows and (rows["dispatch"] == "grouped").any() else None
    if disp:
        rows = rows[rows["dispatch"] == disp]
    # one answer per device the rows ran on (never pooled); this run's rows before reference ones
    groups = list(rows.groupby("_devlabel"))
    if "origin" in rows:
        groups.sort(key=lambda kv: (kv[1]["origin"] == "reference").all())
    out = []
    for dev, dev_rows in groups:
        out += _routing_device(dev_rows, disp, claims, checks, suffix=f" on {_hw(dev_rows)}" if len(groups) > 1 else "")
    return out + model


def _routing_device(rows: pd.DataFrame, disp, claims: list[dict], checks: pd.DataFrame, suffix: str) -> list[dict]:
    """On-demand against each top-k baseline on one device, per phase."""
    out = []
    for base, label in ROUTING_BASELINES:
        if base not in set(rows["_backend"]):
            continue
        details, keys, sentences = [], [], []
        for phase in sorted(rows["phase"].dropna().unique()) if "phase" in rows else [None]:
            ph = rows[rows["phase"] == phase] if phase is not None else rows
            lat, act, per_layer, batches, loads = [], [], [], set(), set()
            for (wl, b), g in ph.groupby(["workload", "batch_size"]):
                od, tk = g[g["_backend"] == ONDEMAND], g[g["_backend"] == base]
                if od.empty or tk.empty:
                    continue
                o, t = od.iloc[0], tk.iloc[0]
                layers = float(o.get("layers") or 1)
                d = {"phase": phase, "workload": wl, "batch_size": int(b), "dispatch": disp,
                     "latency_ms_ondemand": float(o["latency_ms_p50"]), f"latency_ms_{base}": float(t["latency_ms_p50"]),
                     "latency_change_pct": _pct(o["latency_ms_p50"], t["latency_ms_p50"]),
                     "ms_per_layer_ondemand": float(o["latency_ms_p50"]) / layers,
                     f"ms_per_layer_{base}": float(t["latency_ms_p50"]) / layers,
                     "real_act_per_token_ondemand": float(o.get("real_act_per_token", np.nan)),
                     f"real_act_per_token_{base}": float(t.get("real_act_per_token", np.nan))}
                details.append(d)
                keys += [_key(o), _key(t)]
                lat.append(d["latency_change_pct"])
                act.append(_pct(d["real_act_per_token_ondemand"], d[f"real_act_per_token_{base}"]))
                per_layer.append((d["ms_per_layer_ondemand"], d[f"ms_per_layer_{base}"]))
                batches.add(int(b))
                loads.add(str(wl))
            if not lat:
                continue
            why = ("latency moves with the activations" if all((a < 0) == (x < 0) for a, x in zip(act, lat))
                   else "fewer real activations do not show as lower latency on this block (time per layer rises "
                        "while activations fall)" if np.median(act) < 0 < np.median(lat)
                   else "latency and activations move differently across batch sizes")
            sentences.append(
                f"In {phase}, on-demand's p50 latency is {_span(lat)} against {label} over batch sizes "
                f"{', '.join(map(str, sorted(batches)))} ({', '.join(sorted(loads))}), "
                f"{_span([p[0] for p in per_layer], '{:.3g}')} ms per layer against {_span([p[1] for p in per_layer], '{:.3g}')}"
                f" ms; it activates {_span(act)} real experts per token relative to {label} "
                f"({_span([d['real_act_per_token_ondemand'] for d in details if d['phase'] == phase], '{:.2f}')} against "
                f"{_span([d[f'real_act_per_token_{base}'] for d in details if d['phase'] == phase], '{:.2f}')}), so {why}.")
        if not details:
            continue
        used = rows[rows["_backend"].isin([ONDEMAND, base])]
        origin, note = _origin_note(used)
        cond = [f"Conditional on claim {c['claim_id']}: {c['reason']}" for c in claims if c["status"] == "CONDITIONAL"]
        finding = (f"{note}On {_hw(used)}, {disp or 'default'} dispatch, synthetic shape-matched workloads: "
                   + " ".join(sentences + cond))
        out.append({"comparison": f"on-demand vs {label} routing{suffix}", "finding": finding, "measured": sorted(set(keys)),
                    "origin": origin,
                    "claims": claims, "conditional": _conditional(claims, checks), "untested": _untested(claims),
                    "details": details})
    return out


def _pairs(frame: dict) -> list[tuple[str, str, str]]:
    pairs = []
    for f in ("device", "precision", "backend", "model"):
        for s in frame["subject"].get(f, []):
            for b in frame["baseline"].get(f, []) or []:
                pairs.append((f, s, b))
    return pairs


def field_comparison(bench: Bench, checks: pd.DataFrame, claims: pd.DataFrame, f: str, s: str, b: str) -> dict:
    """A subject value against a baseline value of one field (device, precision, ...), paired over the rest."""
    col = HW_NAMES[f]
    # this run's rows when they measure both sides; else reference rows, labelled as such in the finding
    ok = bench.df[bench.df["_ok"]] if len(bench.df) else bench.df
    df = ok[ok["_decides"]] if len(ok) else ok
    norm = {"precision": lambda v: v, "device": lambda v: v}.get(f, lambda v: v.replace("_", "").replace("-", ""))
    ids = set()
    if claims is not None and not claims.empty:
        for r in claims.to_dict("records"):
            vals = {clean(r.get(f"subject_{f}")), clean(r.get(f"baseline_{f}"))}
            if s in vals or b in vals:
                ids.add(r["claim_id"])
    bearing = _claims_on(checks, ids)
    name = f"{s} vs {b} ({f})"
    sr, br = (df[df[col] == norm(s)], df[df[col] == norm(b)]) if len(df) else (df, df)
    if (sr.empty or br.empty) and len(ok):
        sr, br = ok[ok[col] == norm(s)], ok[ok[col] == norm(b)]
    missing = [v for v, r in ((s, sr), (b, br)) if r.empty]
    if missing:
        need = " and ".join(missing)
        what = f"rows measured on {need} (add it to bench.devices; the row's recorded hardware must be {need})" \
            if f == "device" else f"rows with {f} {need} on a measured device"
        return {"comparison": name, "finding": f"This run has no measurement of {need}, so {s} against {b} is not "
                f"answered by measurement.", "measured": [], "claims": bearing, "conditional": _conditional(bearing, checks),
                "untested": [f"{name}: needs {what}"] + _untested(bearing), "details": []}
    dims = [c for c in ("_devlabel", "_model", "_backend", "_precision", "batch_size", "_ctx", "_setting")
            if c != col and c in sr.columns]
    merged = sr.merge(br, on=dims, suffixes=("_s", "_b"))
    if merged.empty:
        return {"comparison": name, "finding": f"{s} and {b} were measured, but never in the same configuration.",
                "measured": [], "claims": bearing, "conditional": False,
                "untested": [f"{name}: run both in one configuration"] + _untested(bearing), "details": []}
    ratio = (merged["throughput_ips_s"] / merged["throughput_ips_b"]).replace([np.inf], np.nan).dropna()
    lat = _pct(merged["latency_ms_p50_s"], merged["latency_ms_p50_b"]).replace([np.inf], np.nan).dropna()
    batches = sorted(set(merged["batch_size"]))
    keys = sorted({f"{r['suite_s']}/{r['device_s']}/{r['model_s']}/{r['backend_s']}/{r['precision_s']}/b{r['batch_size']}"
                   for r in merged.to_dict("records")} |
                  {f"{r['suite_b']}/{r['device_b']}/{r['model_b']}/{r['backend_b']}/{r['precision_b']}/b{r['batch_size']}"
                   for r in merged.to_dict("records")})
    origin, note = _origin_note(pd.concat([sr, br]))
    finding = (f"{note}On {_hw(pd.concat([sr, br]))}, {s} reaches {_span(ratio, '{:.2f}x')} the throughput of {b} over batch "
               f"sizes {', '.join(map(str, batches))} ({len(merged)} paired configurations), with p50 latency "
               f"{_span(lat)}.")
    details = [{"batch_size": int(r["batch_size"]), "throughput_ratio": float(r["throughput_ips_s"] / r["throughput_ips_b"]),
                "latency_change_pct": float(_pct(r["latency_ms_p50_s"], r["latency_ms_p50_b"]))}
               for r in merged.to_dict("records") if r["throughput_ips_b"]]
    return {"comparison": name, "finding": finding, "measured": keys, "claims": bearing, "origin": origin,
            "conditional": _conditional(bearing, checks), "untested": _untested(bearing), "details": details}


def build_answer(frame: dict, checks: pd.DataFrame, bench: Bench, claims: pd.DataFrame | None = None) -> dict:
    """The study's answer: one entry per comparison of its frame, plus a plain-sentence summary."""
    comps = []
    if "expert routing" in frame.get("method_families", []):
        comps += routing_comparisons(bench, checks)
    for f, s, b in _pairs(frame):
        comps.append(field_comparison(bench, checks, claims, f, s, b))
    comps += llm_comparisons(bench, checks, _claims_on)  # whole-model generation rows (llm_answer.py)
    if not comps:
        bearing = _claims_on(checks)
        tested = [c for c in bearing if c["status"] in DECIDING]
        comps.append({"comparison": "the question's subject", "finding": f"The question names no baseline to compare "
                      f"with; {len(tested)} of {len(bearing)} on-frame claims were tested against this run's rows.",
                      "measured": [], "claims": bearing, "conditional": _conditional(bearing, checks),
                      "untested": _untested(bearing), "details": []})
    statuses = pd.Series([c["status"] for c in _claims_on(checks)]).value_counts().to_dict() if checks is not None \
        and not checks.empty else {}
    for c in comps:  # what a claimed budget would do here, measured: stated as conditional, never as reproduced
        conds = sorted({x["conditional_finding"] for x in c["claims"] if x.get("conditional_finding")})
        if conds:
            c["finding"] += " Conditional measurement (not a reproduction of the paper): " + " ".join(
                f"{x[0].upper()}{x[1:]}." for x in conds)
    summary = [c["finding"] for c in comps]
    if statuses:
        summary.append("On-frame claims: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) + ".")
    untested = sorted({u for c in comps for u in c["untested"]})
    if untested:
        summary.append(f"Not tested here ({len(untested)}): " + "; ".join(untested[:4]) + (" ..." if len(untested) > 4 else ""))
    return {"study": frame["study"], "question": frame["question"], "summary": summary, "comparisons": comps,
            "answered": sum(bool(c["measured"]) for c in comps), "comparisons_total": len(comps)}


def answer_rows(answer: dict) -> pd.DataFrame:
    """The `answers` table: one row per comparison."""
    rows = [{"study": answer["study"], "comparison": c["comparison"], "finding": c["finding"],
             "measured_evidence": json.dumps(c["measured"]), "claims": json.dumps([f"{x['claim_id']}:{x['status']}"
                                                                                    for x in c["claims"]]),
             "conditional": bool(c["conditional"]), "untested": "; ".join(c["untested"]),
             "details": json.dumps(c["details"], default=float)} for c in answer["comparisons"]]
    return pd.DataFrame(rows, columns=["study", "comparison", "finding", "measured_evidence", "claims", "conditional",
                                       "untested", "details"])
