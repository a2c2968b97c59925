"""The study's answer: for each comparison its question asks (both halves of an "and"), a headline sentence
with the number a reader would quote, a compact table, and the full per-context details, from this run's rows
(device as the hardware recorded it) restricted to the models, devices, batch sizes and phases the question
names; which on-frame claims bear on it and their statuses; what could not be tested. The tribunal judges it.

Each kind of row answers through a builder listed in ANSWER_BUILDERS (frame, checks, bench, claims) -> entries:
routing rows, field comparisons, whole-model generation rows; build_answer only runs the list."""
from __future__ import annotations

import json

import pandas as pd

from .answer_parts import DECIDING, claims_on, comparison, hw, label, origin_note, pct, span
from .answer_routing import routing_answers
from .llm_answer import llm_comparisons
from .llm_checks import without_llm_rows
from .match import Bench, clean

# a device is what the row's hardware record resolves to (_devlabel), never the config entry's name
HW_NAMES = {"device": "_devlabel", "model": "_model", "backend": "_backend", "precision": "_precision"}
TABLE_ROWS = 12  # the compact table; every row is in the details


def _rows_for(df: pd.DataFrame, bench: Bench, f: str, values) -> pd.DataFrame:
    """Rows whose field `f` is one of `values`: devices by hardware (a generic or class name takes its kind),
    backends with their aliases."""
    if df.empty or not values:
        return df
    keep = pd.Series(False, index=df.index)
    for v in values:
        if f == "device":
            if v == "gpu":
                keep |= ~df["_cpu"]
            elif bench.hw.is_cpu(v) and bench.hw.resolve(v) is None:  # 'cpu', 'xeon': a CPU of that class
                keep |= df["_cpu"]
            else:
                keep |= df["_devlabel"] == v
        elif f == "backend":
            keep |= df["_backend"].isin(bench.hw.backend_names(v) | {v.replace("_", "").replace("-", "")})
        elif f == "model":
            keep |= df["_model"] == v.replace("-", "").replace("_", "")
        else:
            keep |= df[HW_NAMES[f]] == v
    return df[keep]


def scoped(df: pd.DataFrame, bench: Bench, frame: dict, comp: dict | None = None) -> pd.DataFrame:
    """The rows the question asks about: its models, devices, batch sizes and phases (all when it names none),
    and the comparison's own context (the clause's other fields), never its compared field."""
    scope = frame.get("scope") or {}
    compared = (comp or {}).get("field")
    for f in ("model", "device"):
        if f != compared and scope.get(f):
            df = _rows_for(df, bench, f, scope[f])
    for f, values in ((comp or {}).get("context") or {}).items():
        if f in HW_NAMES and f not in ("model", "device"):
            df = _rows_for(df, bench, f, values)
    if scope.get("batch_size") and len(df):
        df = df[df["batch_size"].isin(scope["batch_size"])]
    if scope.get("phase") and "phase" in df and len(df):
        df = df[df["phase"].isin(scope["phase"]) | df["phase"].isna()]
    return df


def _bearing(claims: pd.DataFrame | None, f: str, values: set[str]) -> set[str]:
    if claims is None or claims.empty:
        return set()
    return {r["claim_id"] for r in claims.to_dict("records")
            if {clean(r.get(f"subject_{f}")), clean(r.get(f"baseline_{f}"))} & values}


def field_comparison(bench: Bench, checks: pd.DataFrame, claims: pd.DataFrame | None, comp: dict,
                     frame: dict | None = None) -> dict:
    """A subject value against a baseline value of one field (device, precision, backend, model), paired over
    the rest, on the rows the question asks about."""
    frame = frame or {}
    f, s, b = comp["field"], comp["subject"], comp["baseline"]
    bearing = claims_on(checks, _bearing(claims, f, {s, b}))
    name = f"{label(s, frame)} vs {label(b, frame)} ({f})"
    ok = bench.df[bench.df["_ok"]] if len(bench.df) else bench.df
    ok = scoped(ok, bench, frame, comp)
    df = ok[ok["_decides"]] if len(ok) else ok
    # this run's rows when they measure both sides; else reference rows, labelled as such in the finding
    sr, br = _rows_for(df, bench, f, [s]), _rows_for(df, bench, f, [b])
    if (sr.empty or br.empty) and len(ok):
        sr, br = _rows_for(ok, bench, f, [s]), _rows_for(ok, bench, f, [b])
    missing = [v for v, r in ((s, sr), (b, br)) if r.empty]
    if missing:
        need = " and ".join(missing)
        what = f"rows measured on {need} (add it to bench.devices; the row's recorded hardware must be {need})" \
            if f == "device" else f"rows with {f} {need} on a measured device"
        measured = sorted(set(ok["_hw"].dropna().astype(str))) if len(ok) and "_hw" in ok else []
        return comparison(name, f"This run has no measurement of {' and '.join(label(v, frame) for v in missing)}, so "
                          f"{label(s, frame)} against {label(b, frame)} is not answered by measurement"
                          + (f" (it measured {', '.join(measured)})." if measured else "."), checks, bearing,
                          missing=[f"{name}: needs {what}"])
    # settings (memory format, compile mode) belong to a backend: a backend comparison pairs across them
    dims = [c for c in ("_devlabel", "_model", "_backend", "_precision", "batch_size", "_ctx", "_setting")
            if c != HW_NAMES[f] and c in sr.columns and not (f == "backend" and c == "_setting")]
    merged = sr.merge(br, on=dims, suffixes=("_s", "_b"))
    merged = merged[merged["throughput_ips_b"] > 0] if len(merged) else merged
    if merged.empty:
        return comparison(name, f"{s} and {b} were measured, but never in the same configuration.", checks, bearing,
                          missing=[f"{name}: run both in one configuration"])
    for c in ("_devlabel", "_model"):  # the compared field's column is the subject side's
        if c not in merged:
            merged[c] = merged[f"{c}_s"]
    merged = merged.sort_values(["_devlabel", "_model", "batch_size"])
    merged["ratio"] = merged["throughput_ips_s"] / merged["throughput_ips_b"]
    merged["lat"] = pct(merged["latency_ms_p50_s"], merged["latency_ms_p50_b"])
    both = pd.concat([sr, br])
    origin, note = origin_note(both)
    headline = note + _headline(merged, s, b, frame, hw(both))
    keys = {f"{r[f'suite_{x}']}/{r[f'device_{x}']}/{r[f'model_{x}']}/{r[f'backend_{x}']}/{r[f'precision_{x}']}"
            f"/b{r['batch_size']}" for r in merged.to_dict("records") for x in ("s", "b")}
    return comparison(name, headline, checks, bearing, measured=keys, table=_table(merged, s, b, f, frame),
                      details=_details(merged, f), origin=origin)


def _headline(m: pd.DataFrame, s: str, b: str, frame: dict, where: str) -> str:
    """'On AMD EPYC (device entry cpu), INT8 runs 1.9x to 2.1x the throughput of FP32 (ResNet-18 2.1x at batch 8;
    ResNet-50 1.3x at batch 8), with p50 latency -45% to -52%, over batch sizes 1, 8.'"""
    per = []
    for (dev, model), g in m.groupby(["_devlabel", "_model"], sort=False):
        top = g.loc[g["batch_size"].idxmax()]  # the largest batch measured: the number a reader quotes
        per.append(f"{label(model)}{' on ' + dev if m['_devlabel'].nunique() > 1 else ''} {top['ratio']:.2f}x "
                   f"at batch {int(top['batch_size'])}")
    S, B = label(s, frame), label(b, frame)
    verdict = (f"{S} is faster in every configuration measured" if m["ratio"].min() > 1 else
               f"{S} is slower in every configuration measured" if m["ratio"].max() < 1 else
               "which is faster depends on the model and batch size")
    return (f"On {where}, {S} runs at {span(m['ratio'], '{:.2f}x')} the throughput of {B} ({'; '.join(per)}), with "
            f"p50 latency {span(m['lat'])}, over batch sizes {', '.join(map(str, sorted(set(m['batch_size']))))}: "
            f"{verdict}.")


def _table(m: pd.DataFrame, s: str, b: str, f: str, frame: dict) -> dict:
    """Model and batch down; both sides' items/s, their ratio and the latency change across."""
    devs = m["_devlabel"].nunique() > 1
    cols = (["device"] if devs else []) + ["model", "batch", f"{label(s, frame)} items/s", f"{label(b, frame)} items/s",
                                           "ratio", "p50 latency"]
    rows = [([r["_devlabel"]] if devs else []) + [label(r["_model"]), int(r["batch_size"]),
            f"{r['throughput_ips_s']:.4g}", f"{r['throughput_ips_b']:.4g}", f"{r['ratio']:.2f}x", f"{r['lat']:+.0f}%"]
            for r in m.head(TABLE_ROWS).to_dict("records")]
    return {"columns": cols, "rows": rows, "note": f"{len(m)} paired configurations" + (
        f", the first {TABLE_ROWS} shown; all in the details" if len(m) > TABLE_ROWS else "")}


def _details(m: pd.DataFrame, f: str) -> list[dict]:
    out = []
    for r in m.to_dict("records"):
        d = {"device": r["_devlabel"], "model": r["_model"], "batch_size": int(r["batch_size"]),
             "throughput_ratio": float(r["ratio"]), "latency_change_pct": float(r["lat"]),
             "throughput_subject": float(r["throughput_ips_s"]), "throughput_baseline": float(r["throughput_ips_b"])}
        for c in ("_backend", "_precision"):
            if c != HW_NAMES[f] and c in r:
                d[c.strip("_")] = r[c]
        out.append(d)
    return out


def field_answers(frame: dict, checks: pd.DataFrame, bench: Bench, claims=None) -> list[dict]:
    """The answer builder of field comparisons: one entry per comparison the question asks."""
    comps = frame.get("comparisons")
    if comps is None:  # a frame written before comparisons were parsed: subject x baseline per field
        comps = [{"field": f, "subject": s, "baseline": b, "context": {}} for f in ("device", "precision", "backend",
                 "model") for s in frame["subject"].get(f, []) for b in frame["baseline"].get(f, []) or []]
    bench = without_llm_rows(bench)  # generation rows (requests/s, per prompt length) are llm_answers'
    return [field_comparison(bench, checks, claims, c, frame) for c in comps]


def llm_answers(frame: dict, checks: pd.DataFrame, bench: Bench, claims=None) -> list[dict]:
    """The answer builder of whole-model generation rows (llm_answer.py); [] without llm rows."""
    return llm_comparisons(bench, checks, claims_on)


ANSWER_BUILDERS = [routing_answers, field_answers, llm_answers]


def build_answer(frame: dict, checks: pd.DataFrame, bench: Bench, claims: pd.DataFrame | None = None) -> dict:
    """The study's answer: one entry per comparison of its frame, plus a plain-sentence summary."""
    comps = [c for builder in ANSWER_BUILDERS for c in builder(frame, checks, bench, claims)]
    for c in comps:  # builders that write only a finding: it is their headline, with no compact table
        c.setdefault("headline", c["finding"])
        c.setdefault("table", {"columns": [], "rows": []})
    if not comps:
        bearing = claims_on(checks)
        tested = [c for c in bearing if c["status"] in DECIDING]
        comps.append(comparison("the question's subject", f"The question names no baseline to compare with; "
                                f"{len(tested)} of {len(bearing)} on-frame claims were tested against this run's rows.",
                                checks, bearing, missing=[]))
    statuses = pd.Series([c["status"] for c in claims_on(checks)]).value_counts().to_dict() if checks is not None \
        and not checks.empty else {}
    for c in comps:  # what a claimed budget would do here, measured: stated as conditional, never as reproduced
        conds = sorted({x["conditional_finding"] for x in c["claims"] if x.get("conditional_finding")})
        if conds:
            c["finding"] += " Conditional measurement (not a reproduction of the paper): " + " ".join(
                f"{x[0].upper()}{x[1:]}." for x in conds)
    summary = [c["headline"] for c in comps]
    if statuses:
        summary.append("On-frame claims: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) + ".")
    missing = sorted({u for c in comps for u in c["untested"]})
    if missing:
        summary.append(f"Not tested here ({len(missing)}): " + "; ".join(missing[:4]) + (" ..." if len(missing) > 4 else ""))
    return {"study": frame["study"], "question": frame["question"], "summary": summary, "comparisons": comps,
            "answered": sum(bool(c["measured"]) for c in comps), "comparisons_total": len(comps)}


def answer_rows(answer: dict) -> pd.DataFrame:
    """The `answers` table: one row per comparison."""
    rows = [{"study": answer["study"], "comparison": c["comparison"], "finding": c["finding"],
             "measured_evidence": json.dumps(c["measured"]), "claims": json.dumps([f"{x['claim_id']}:{x['status']}"
                                                                                    for x in c["claims"]]),
             "conditional": bool(c["conditional"]), "untested": "; ".join(c["untested"]),
             "details": json.dumps(c["details"], default=float), "headline": c.get("headline", c["finding"]),
             "answer_table": json.dumps(c.get("table") or {}, default=str)} for c in answer["comparisons"]]
    return pd.DataFrame(rows, columns=["study", "comparison", "finding", "measured_evidence", "claims", "conditional",
                                       "untested", "details", "headline", "answer_table"])
