"""check_claims: every claim against the benchmark rows that measure it, into `claim_checks`."""
from __future__ import annotations

import json
import logging
import math

import pandas as pd

from ..io import read_table, write_parquet
from ..units import UnitError, to_ms
from .compare import (check_result as _result, claimed_speedup, contradicts, decide, percent_of, qualifier_of,
                      range_fields, repeat_spread, speedup_terms)
from .conditional import conditional_budget, conditional_json, needed_artefact
from .hardware import Hardware, load_hardware, resolve_named_cpus
from .llm_checks import check_llm, without_llm_rows
from .match import GENERIC_TOPK, ROUTING_SUITE, Bench, best_over, clean, per_cpu, per_cpu_result, row_key, side
from .plausibility import as_number, assess
from .protocols import check_with_protocol
from .referee import referee_notes
from .settings import CheckConfig

log = logging.getLogger(__name__)

# metric -> (benchmark column, higher is better); expert activations resolve their column at run time
METRICS = {"throughput": ("throughput_ips", True), "speedup": ("throughput_ips", True),
           "latency": ("latency_ms_p50", False), "latency_p50": ("latency_ms_p50", False),
           "latency_p90": ("latency_ms_p90", False), "latency_p99": ("latency_ms_p99", False),
           "expert_activations": (None, False)}
ACTIVATION_COLUMNS = ("real_act_per_token", "real_activations_per_token", "activations_per_token", "real_activations",
                      "expert_activations", "activations")
UNMEASURED = {"accuracy": "accuracy", "activated_params": "activated parameters", "bandwidth": "memory bandwidth",
              "memory": "memory capacity", "power": "power", "cost": "cost"}
DIM_COLUMNS = {"device": "_devlabel", "model": "_model", "backend": "_backend", "precision": "_precision",
               "batch": "batch_size", "ctx": "_ctx", "setting": "_setting"}
GENERIC_GPU = {"gpu", "gpus", "nvidia gpu"}
STATUS_WEIGHT = {"REPRODUCED": 1.0, "UNTESTABLE": 0.6, "NOT_EMPIRICAL": 0.5, "NOT_REPRODUCED": 0.3}
CHECK_COLUMNS = ["study", "claim_id", "status", "claimed_value", "measured_value", "ratio", "tolerance",
                 "plausibility", "utilization", "reason", "counts_as_verified", "round", "paper_id", "kind", "metric", "unit",
                 "qualifier", "sentence", "claimed_low", "claimed_high", "bench_rows", "measured_utilization",
                 "plausibility_reason", "text_support", "numbers_grounded", "confidence", "contradicted",
                 "evidence_devices", "support_method", "conditional", "conditional_finding", "conditional_contexts",
                 "conditional_rows", "match"]


def _num(v: float) -> str:
    """10,840 for large figures, 4 significant digits for small ones (never 1.084e+04)."""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _column(metric: str, bench: Bench) -> tuple[str | None, bool, str | None]:
    col, higher = METRICS[metric]
    if metric == "expert_activations":
        col = next((c for c in ACTIVATION_COLUMNS if c in bench.df.columns), None)
        if col is None:
            return None, higher, "the moe_routing rows carry no expert-activation counts"
    return col, higher, None


def _prep_side(s: dict) -> tuple[dict, bool]:
    s = dict(s)
    gpu_only = s.get("device") in GENERIC_GPU
    if gpu_only:
        s["device"] = None
    return s, gpu_only


def _suite_for(claim: dict) -> str | None:
    routing = claim.get("metric") == "expert_activations" or clean(claim.get("subject_method")) \
        or clean(claim.get("baseline_method"))
    return ROUTING_SUITE if routing else None


def check_absolute(claim: dict, bench: Bench, cfg: CheckConfig) -> dict:
    """An absolute figure against the range of matching measurements over the dimensions the claim leaves open."""
    metric, value = claim["metric"], as_number(claim.get("value"))
    col, higher, why = _column(metric, bench)
    if why or value is None:
        return _result("UNTESTABLE", why or "the claim carries no value", value)
    if clean(claim.get("unit")) == "%":
        return _result("UNTESTABLE", f"a {metric} share in % is not measured by the suites", value)
    if not higher:
        try:
            value = to_ms(value, claim.get("unit"))
        except UnitError as exc:
            return _result("UNTESTABLE", str(exc), value)
    s, gpu_only = _prep_side(side(claim, "subject"))
    suite = _suite_for(claim)
    if suite != ROUTING_SUITE and not s.get("device"):
        return _result("UNTESTABLE", "the claim names no device, and an absolute figure depends on the hardware", value)
    if suite != ROUTING_SUITE and not s.get("model"):
        return _result("UNTESTABLE", "the claim names no model (nor does its context), and an absolute figure "
                       "depends on the model", value)
    if suite != ROUTING_SUITE and bench.hw.is_cpu(s["device"]) and bench.hw.resolve(s["device"]) is None:
        measured = sorted({str(g) for g in bench.df.loc[bench.df["_cpu"], "_hw"].dropna()})
        return _result("UNTESTABLE", f"the claim's CPU is not identified ('{s['device']}') and an absolute figure "
                       f"depends on the processor (cpu rows here: {', '.join(measured) or 'none'})", value)
    sel = bench.select(s, gpu_only=gpu_only, suite=suite)
    if sel.missing:
        return _result("UNTESTABLE", sel.missing, value)
    rows = sel.rows[sel.rows[col].notna()]
    if rows.empty:
        return _result("UNTESTABLE", f"matching rows carry no {col}", value)
    q = qualifier_of(clean(claim.get("qualifier")))
    vals = {i: float(v) for i, v in rows[col].items()}
    spreads = {i: repeat_spread(r) for i, r in rows.iterrows()}
    ok, pick = decide(vals, value, q, cfg.tolerance, best_is_max=higher, spreads=spreads)
    used = rows.loc[pick]
    measured = vals[pick]
    lo, hi = min(vals.values()), max(vals.values())
    keys = [row_key(used)] if ok else [row_key(r) for _, r in rows.iterrows()]
    what = "best" if q == "up_to" else "closest"
    reason = (f"measured {_num(measured)} vs claimed {_num(value)} ({metric}, {q}) at {row_key(used)}, the {what} of "
              f"{len(rows)} admissible rows{best_over(rows, s, 'best over' if q == 'up_to' else 'range over')}; measured range {_num(lo)}-{_num(hi)}"
              + ("" if ok else "; no admissible configuration within tolerance") + _spread_note(cfg.tolerance, spreads[pick]))
    return _result("REPRODUCED" if ok else "NOT_REPRODUCED", reason, value, measured, keys,
                   **range_fields(value, vals.values(), q, lower_is_best=not higher))


def _sides(claim: dict, cfg: CheckConfig, hw: Hardware) -> tuple[dict, dict, bool]:
    s, gpu_only = _prep_side(side(claim, "subject"))
    b_claim = side(claim, "baseline")
    b = dict(s)
    cpu_base = b_claim.get("device") and hw.is_cpu(b_claim["device"]) and not (s.get("device") and hw.is_cpu(s["device"]))
    if cpu_base:
        b["backend"] = b_claim["backend"] or cfg.cpu_baseline_backend
        b["precision"] = b_claim["precision"] or cfg.cpu_baseline_precision
        gpu_only = gpu_only or not s.get("device")
    for f, v in b_claim.items():
        if v:
            b[f] = v
    return s, b, gpu_only


def _grouped_best(rows: pd.DataFrame, dims: list[str], col: str, higher: bool) -> dict:
    cols = [DIM_COLUMNS[d] for d in dims]
    rows = rows[rows[col].notna()]
    if rows.empty:
        return {}
    idx = rows.groupby(cols, dropna=False)[col].idxmax() if higher and cols else \
        rows.groupby(cols, dropna=False)[col].idxmin() if cols else \
        pd.Series([rows[col].idxmax() if higher else rows[col].idxmin()], index=[()])
    return {(g if isinstance(g, tuple) else (g,)): rows.loc[i] for g, i in idx.items()}


def compare_sides(claim: dict, bench: Bench, cfg: CheckConfig, hw: Hardware, percent: bool = False,
                  claimed: float | None = None, from_to: tuple | None = None) -> dict:
    """A ratio, percent-change or from/to claim against the speed-ups of matching subject and baseline
    measurements (compare.py states the rule)."""
    metric = claim.get("metric") or "throughput"
    metric = metric if metric in METRICS else "throughput"
    col, higher, why = _column(metric, bench)
    if why:
        return _result("UNTESTABLE", why, claimed)
    if from_to is not None:
        claimed = claimed_speedup(higher, v_from=from_to[0], v_to=from_to[1])
    if claimed is None:
        return _result("UNTESTABLE", "the claim states no single value to compare with")
    s, b, gpu_only = _sides(claim, cfg, hw)
    if not any(side(claim, "baseline").values()):
        return _result("UNTESTABLE", "the claim names no baseline to compare with", claimed)
    if s == b:
        return _result("UNTESTABLE", "subject and baseline name the same configuration", claimed)
    suite = _suite_for(claim)
    sel_s = bench.select(s, gpu_only=gpu_only, suite=suite)
    if sel_s.missing:
        return _result("UNTESTABLE", sel_s.missing, claimed)
    sel_b = bench.select(b, suite=suite)
    if sel_b.missing:
        return _result("UNTESTABLE", f"baseline: {sel_b.missing}", claimed)
    # a CPU baseline is one CPU: each measured CPU model is its own baseline, never pooled with another
    cpus = per_cpu(sel_b.rows)
    args = (col, higher, cfg, percent, claimed)
    if len(cpus) > 1:
        # a CPU subject (FP16 against FP32 on "the CPU") stays on the baseline's CPU too
        same = (lambda cpu: sel_s.rows[sel_s.rows["_hw"] == cpu]) if sel_s.rows["_cpu"].all() else (lambda cpu: sel_s.rows)
        results = {cpu: _compare(claim, s, same(cpu), b, rows, *args) for cpu, rows in cpus.items()}
        return per_cpu_result(results)
    return _compare(claim, s, sel_s.rows, b, sel_b.rows, *args)


def _compare(claim: dict, s: dict, s_rows: pd.DataFrame, b: dict, b_rows: pd.DataFrame, col: str, higher: bool,
             cfg: CheckConfig, percent: bool, claimed: float) -> dict:
    """Speed-ups of one subject selection over one baseline selection, paired over the open dimensions."""
    if b.get("method") and b["method"] in GENERIC_TOPK and b_rows["_backend"].nunique() > 1:
        pick = cfg_routing_baseline(b_rows)
        b_rows = b_rows[b_rows["_backend"] == pick]
    dims = [d for d in DIM_COLUMNS if not s.get(d) and not b.get(d) and not (d == "backend" and (s.get("method") or b.get("method")))]
    gs, gb = _grouped_best(s_rows, dims, col, higher), _grouped_best(b_rows, dims, col, higher)
    common = sorted(set(gs) & set(gb), key=str)
    if not common and "setting" in dims:  # e.g. a GPU in channels-last against a CPU in NCHW: best over settings
        dims.remove("setting")
        gs, gb = _grouped_best(s_rows, dims, col, higher), _grouped_best(b_rows, dims, col, higher)
        common = sorted(set(gs) & set(gb), key=str)
    if not common:
        return _result("UNTESTABLE", f"no {'/'.join(dims)} measured for both subject and baseline", claimed)
    raw = {g: float(gs[g][col]) / float(gb[g][col]) for g in common if float(gb[g][col])}
    # one speed-up in the metric's direction for every kind of relative claim
    speed = {g: (r if higher else 1 / r) for g, r in raw.items() if r}
    if not speed:
        return _result("UNTESTABLE", "baseline measurements are zero", claimed)
    target = claimed_speedup(higher, percent=claimed) if percent else claimed
    if target is None:
        return _result("UNTESTABLE", f"a change of {claimed:g}% leaves nothing to compare", claimed)
    q = qualifier_of(clean(claim.get("qualifier")))
    q_speed, best_max = speedup_terms(q, target)  # a claimed slowdown turns the qualifier around
    # a claim is decided per context (phase, workload, dispatch), never pooled across them
    ci = dims.index("ctx") if "ctx" in dims else None
    by_ctx: dict = {}
    for g, r in speed.items():
        by_ctx.setdefault(g[ci] if ci is not None else "", {})[g] = r
    # a speed-up is as uncertain as both of its rows: their repeat spreads add
    spreads = {g: repeat_spread(gs[g]) + repeat_spread(gb[g]) for g in speed}
    per_context = {ctx: decide(rs, target, q_speed, cfg.tolerance, best_is_max=best_max, spreads=spreads)
                   for ctx, rs in sorted(by_ctx.items())}
    ok = all(h for h, _ in per_context.values())
    # the context farthest from the claim is the one reported (all are in the reason)
    worst = max(per_context, key=lambda c: (not per_context[c][0], abs(math.log(speed[per_context[c][1]] / target))
                                            if speed[per_context[c][1]] > 0 and target > 0 else math.inf))
    g_used = per_context[worst][1]
    show = (lambda v: percent_of(v, higher)) if percent else (lambda v: v)
    measured = show(speed[g_used])
    unit = "%" if percent else "x"
    pairs = [g_used] if ok else list(speed)
    used = sorted({k for g in pairs for k in (row_key(gs[g]), row_key(gb[g]))})
    lo, hi = min(speed.values()), max(speed.values())
    reason = (f"measured {measured:,.4g}{unit} vs claimed {claimed:,.4g}{unit} ({q}; speed-up {speed[g_used]:.3g}x vs "
              f"{target:.3g}x, {'higher' if higher else 'lower'} {col} is better): {row_key(gs[g_used])} against "
              f"{row_key(gb[g_used])}" + (f" (paired over {', '.join(dims)}; {len(speed)} pairs; speed-ups "
                                          f"{lo:.3g}x-{hi:.3g}x)" if dims else ""))
    if not ok and len(speed) > 1:
        reason += "; no admissible pairing holds"
    reason += _spread_note(cfg.tolerance, spreads[g_used])
    if len(per_context) > 1:
        reason += "; per context: " + ", ".join(
            f"{c or 'all'} {show(speed[g]):+.1f}{unit} ({'holds' if h else 'does not hold'})"
            for c, (h, g) in per_context.items())
    return _result("REPRODUCED" if ok else "NOT_REPRODUCED", reason, claimed, measured, used,
                   **range_fields(target, speed.values(), q_speed, lower_is_best=not best_max))


def _spread_note(tol: float, spread: float) -> str:
    """The tolerance a decision used when the rows' repeat spread widened it ('' when they did not)."""
    return f"; tolerance {tol:.0%} + the repeats' spread {spread:.1%}" if spread > 0 else ""


def cfg_routing_baseline(rows: pd.DataFrame) -> str:
    """The top-k strategy a generic 'top-k' baseline means: top-2 when measured, else the most common."""
    names = rows["_backend"].value_counts()
    for pref in ("top2", "topk2", "top_2"):
        if pref in names.index:
            return pref
    return str(names.index[0])


def check_batch_range(claim: dict, bench: Bench, cfg: CheckConfig) -> dict:
    """A batch range against where measured efficiency peaks (items per joule, else the throughput knee)."""
    low, high = as_number(claim.get("low")), as_number(claim.get("high"))
    if low is None or high is None:
        return _result("UNTESTABLE", "the claim gives no batch range (low/high)")
    mid = (low + high) / 2
    s, gpu_only = _prep_side(side(claim, "subject"))
    s["batch"] = None
    sel = bench.select(s, gpu_only=gpu_only, suite=_suite_for(claim))
    if sel.missing:
        return _result("UNTESTABLE", sel.missing, mid, low=low, high=high)
    peaks, used, how = [], [], set()
    # one series per configuration: a memory layout (or compile mode, CUDA graphs) is never mixed into another's
    for _, g in sel.rows.groupby(["_device", "_hw", "_model", "_backend", "_precision", "_ctx", "_setting"], dropna=False):
        g = g.sort_values("batch_size").drop_duplicates("batch_size")
        if len(g) < 3:
            continue
        energy = g["energy_j_per_item"] if "energy_j_per_item" in g else pd.Series(dtype=float)
        if energy.notna().all() and (energy > 0).all():
            peak = g.loc[energy.idxmin()]
            how.add("items per joule")
        else:
            peak = _knee(g, cfg.knee_gain)
            how.add(f"throughput knee (gain < {cfg.knee_gain:.0%} of a proportional rise)")
        peaks.append(int(peak["batch_size"]))
        used.append(row_key(peak))
    if not peaks:
        return _result("UNTESTABLE", "fewer than 3 batch sizes measured per series", mid, low=low, high=high)
    measured = float(sorted(peaks)[(len(peaks) - 1) // 2])
    ok = low * (1 - cfg.tolerance) <= measured <= high * (1 + cfg.tolerance)
    inside = sum(low * (1 - cfg.tolerance) <= p <= high * (1 + cfg.tolerance) for p in peaks)
    reason = (f"efficiency ({'; '.join(sorted(how))}) peaks at batch {measured:g} (median of {len(peaks)} series; "
              f"{inside} of {len(peaks)} within {low:g}-{high:g})")
    return _result("REPRODUCED" if ok else "NOT_REPRODUCED", reason, mid, measured, used, low, high)


def _knee(g: pd.DataFrame, gain: float):
    b, t = g["batch_size"].to_numpy(float), g["throughput_ips"].to_numpy(float)
    for i in range(1, len(g)):
        growth = (t[i] / t[i - 1] - 1) / (b[i] / b[i - 1] - 1) if t[i - 1] > 0 and b[i] > b[i - 1] else 0
        if growth < gain:
            return g.iloc[i - 1]
    return g.iloc[-1]


def check_spec(claim: dict, hw: Hardware, cfg: CheckConfig) -> dict:
    """A datasheet figure: the suites do not measure it; it is compared with config/devices.yaml."""
    value = as_number(claim.get("value"))
    return _result("UNTESTABLE", f"spec claim ({claim.get('metric')}): the suites measure no "
                   f"{UNMEASURED.get(claim.get('metric'), claim.get('metric'))}", value)


def check_claim(claim: dict, bench: Bench, hw: Hardware, cfg: CheckConfig) -> dict:
    """Status, claimed and measured values, ratio, reason and provenance of one claim."""
    kind, metric = clean(claim.get("kind")), clean(claim.get("metric"))
    claim = {**claim, "kind": kind, "metric": metric}
    if kind in (None, "not_empirical", "not_a_claim"):
        return _result("NOT_EMPIRICAL", "not an empirical claim")
    if kind == "spec":
        return check_spec(claim, hw, cfg)
    llm = check_llm(claim, bench, cfg)  # tokens/s, TTFT, TPOT and registry models: the llm suite's rows
    if llm is not None:
        return llm
    bench = without_llm_rows(bench)  # any other claim: requests/s of generation is not images/s
    if metric == "expert_activations":
        return _result("UNTESTABLE", f"needs {needed_artefact(claim)}", as_number(claim.get("value")))
    if metric in UNMEASURED:
        return _result("UNTESTABLE", f"the suites measure no {UNMEASURED[metric]}", as_number(claim.get("value")))
    if kind == "batch_range":
        return check_batch_range(claim, bench, cfg)
    if metric not in METRICS and metric != "efficiency":
        return _result("UNTESTABLE", f"the suites measure no {metric or 'metric named by the claim'}",
                       as_number(claim.get("value")))
    if kind == "ratio":
        return compare_sides(claim, bench, cfg, bench.hw, claimed=as_number(claim.get("value")))
    if kind == "change":
        v_from, v_to = as_number(claim.get("value_from")), as_number(claim.get("value_to"))
        if v_from and v_to and clean(claim.get("unit")) != "%":
            return compare_sides(claim, bench, cfg, bench.hw, from_to=(v_from, v_to))
        value = as_number(claim.get("value"))
        if value is None and v_from and v_to is not None:
            value = (v_to / v_from - 1) * 100
        return compare_sides(claim, bench, cfg, bench.hw, percent=True, claimed=value)
    if kind == "absolute" and metric in METRICS:
        return check_absolute(claim, bench, cfg)
    return _result("UNTESTABLE", f"no check for a {kind} claim on {metric}", as_number(claim.get("value")))


def confidence(status: str, support: float | None, grounded, plausibility: str) -> float:
    """0..1: text support in the source (0.5 when unknown), halved when numbers are not grounded,
    scaled by the status (reproduced 1.0, untestable 0.6, not empirical 0.5, not reproduced 0.3),
    halved again when implausible."""
    base = 0.5 if support is None else max(0.0, min(1.0, support))
    if grounded is False:
        base *= 0.5
    base *= STATUS_WEIGHT.get(status, 0.5)
    return round(base * (0.5 if plausibility == "implausible" else 1.0), 3)


def device_match(claim: dict, res: dict, hw: Hardware) -> tuple[str | None, str]:
    """'exact' when the claim names specific devices, 'class' when it names a CPU family (a Xeon, the CPU)
    and was tested on another CPU of it (with a note naming what it ran on); None when it names no device."""
    names = [clean(claim.get(f"{p}_device")) for p in ("subject", "baseline")]
    classes = [hw.cpu_class(n) for n in names if n]
    if not any(names):
        return None, ""
    if any(n in GENERIC_GPU for n in names if n):  # "a GPU": any measured GPU, never the claimed one
        return "class", "; match: class: the claim names no particular GPU" if res["status"] in (
            "REPRODUCED", "NOT_REPRODUCED") else ""
    if not any(classes):
        return "exact", ""
    if res["status"] not in ("REPRODUCED", "NOT_REPRODUCED"):
        return "class", ""
    ran = sorted({r.get("hardware") for r in json.loads(res.get("bench_rows") or "[]")
                  if isinstance(r, dict) and r.get("hardware")})
    named = ", ".join(f"'{n}' (class: {c.name})" for n, c in zip([n for n in names if n], classes) if c)
    return "class", (f"; match: class: the claim names {named}, measured on {', '.join(ran) or 'this CPU'}, "
                     "another CPU of that class, not the claimed one")


def check_frame(study: str, claims: pd.DataFrame, support: pd.DataFrame | None, bench: Bench, cfg: CheckConfig,
                contradiction_factor: float = 2.0, round_no: int = 1) -> pd.DataFrame:
    """Check every claim of a study against `bench`; one row per claim."""
    # a claim naming the measured CPU by its model ('AMD EPYC') is about those rows (verdicts/hardware.py)
    hw, claims = resolve_named_cpus(bench.hw, claims, bench.df.loc[bench.df["_cpu"], "_hw"].dropna().unique())
    if hw is not bench.hw:
        bench = Bench(bench.df, hw, bench.reference_decides)
    sup = {} if support is None or support.empty else support.set_index("claim_id").to_dict("index")
    out = []
    if "status" in claims.columns:  # failed extractions (an unreadable table, an invalid LLM answer) are no claims
        claims = claims[claims["status"].fillna("ok") != "failed"]
    for claim in claims.to_dict("records"):
        res = bench.annotate(check_with_protocol(check_claim, claim, bench, bench.hw, cfg))  # the paper's protocol's rows
        plaus = assess(claim, bench.hw, cfg)
        # what a claimed activation budget would do here: conditional, never a reproduction of the paper
        cond = conditional_budget(claim, bench) if clean(claim.get("metric")) == "expert_activations" else {}
        s = sup.get(claim["claim_id"], {})
        support_v, grounded = as_number(s.get("text_support")), s.get("numbers_grounded")
        grounded = None if grounded is None or (isinstance(grounded, float) and math.isnan(grounded)) else bool(grounded)
        ratio = res["ratio"]
        rng = res.pop("_range", None)
        # a synthetic router on synthetic workloads can fail to reproduce a trained model's routing, never refute it
        synthetic = _suite_for(claim) == ROUTING_SUITE
        # contradicted: the claim lies outside the measured range of every admissible configuration by the factor
        outside = contradicts(*rng, contradiction_factor) if rng else (ratio is not None and (
            ratio <= 0 or ratio > contradiction_factor or ratio < 1 / contradiction_factor))
        contradicted = bool(res["status"] == "NOT_REPRODUCED" and grounded is not False and not synthetic and outside)
        if synthetic and res["status"] == "NOT_REPRODUCED":
            res["reason"] += " (synthetic router and workloads: not counted as a contradiction)"
        ref = referee_notes(claim, res, bench, cfg.tolerance, contradicted)
        res["status"], contradicted = ref["status"], ref["contradicted"]
        res["reason"] = ref["prefix"] + res["reason"]
        match, match_note = device_match(claim, res, bench.hw)
        if ref["match"]:  # a run on other threads than the claim's cores: a class match, whatever the device
            match = ref["match"]
        match_note += ref["note"]
        if contradicted and match == "class" and not cfg.count_class_matches:
            # symmetric with counts_as_verified: another CPU (or GPU) of the class can neither verify nor refute
            contradicted = False
            match_note += ("; not counted as a contradiction: a class match measured another device than the claimed "
                           "one (verdicts.count_class_matches)")
        reason = res["reason"] + match_note + (f"; plausibility: {plaus['reason']}" if plaus["reason"] else "") + (
            f"; conditional: {cond['finding']}" if cond.get("finding") else "")
        out.append({"study": study, "claim_id": claim["claim_id"], "status": res["status"],
                    "claimed_value": res["claimed_value"], "measured_value": res["measured_value"], "ratio": ratio,
                    "tolerance": cfg.tolerance, "plausibility": plaus["plausibility"],
                    "utilization": plaus["utilization"], "reason": reason, "round": round_no,
                    "paper_id": claim.get("paper_id"), "kind": clean(claim.get("kind")),
                    "metric": clean(claim.get("metric")), "unit": claim.get("unit"),
                    "qualifier": clean(claim.get("qualifier")), "sentence": claim.get("sentence"),
                    "claimed_low": res["claimed_low"], "claimed_high": res["claimed_high"],
                    "bench_rows": res["bench_rows"], "measured_utilization": res["measured_utilization"],
                    "plausibility_reason": plaus["reason"], "text_support": support_v, "numbers_grounded": grounded,
                    "confidence": confidence(res["status"], support_v, grounded, plaus["plausibility"]),
                    "contradicted": contradicted, "evidence_devices": ",".join(bench.devices),
                    "support_method": s.get("method"), "conditional": bool(cond.get("conditional")),
                    "conditional_finding": cond.get("finding") or None, "conditional_contexts": conditional_json(cond),
                    "conditional_rows": json.dumps(cond.get("rows", [])), "match": match,
                    "counts_as_verified": res["status"] == "REPRODUCED" and (match != "class" or cfg.count_class_matches)})
    return pd.DataFrame(out, columns=CHECK_COLUMNS)


def read_bench(paths: list[str], suites: list[str] | None = None) -> pd.DataFrame:
    """Concatenate benchmark result files, keeping the given suites (all when None or empty: a study that lists
    no suite is checked against every suite the run measured, as every suite is then benchmarked)."""
    frames = [pd.read_csv(p) if str(p).endswith(".csv") else read_table(p) for p in paths]
    frames = [f for f in frames if not f.empty]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if suites and not df.empty:
        df = df[df["suite"].isin(suites)]
    return df


def check_claims(study: str, claims_path: str, support_path: str | None, bench_paths: list[str], out: str,
                 suites: list[str], cfg: dict | None = None, contradiction_factor: float = 2.0,
                 reference_paths: list[str] | None = None) -> pd.DataFrame:
    """Stage entry: check a study's claims against its suites' benchmark rows (and the reference rows of
    `reference_paths`, read_reference_results' output, which decide only with verdicts.reference_decides)."""
    conf = CheckConfig.from_dict(cfg)
    hw = load_hardware(conf.devices_file)
    claims = read_table(claims_path)
    support = read_table(support_path) if support_path else None
    bench = Bench(read_bench(list(bench_paths) + list(reference_paths or []), suites), hw, conf.reference_decides)
    df = check_frame(study, claims, support, bench, conf, contradiction_factor)
    write_parquet(out, df)
    counts = df["status"].value_counts().to_dict() if not df.empty else {}
    log.info("%s: %d claims checked against %d benchmark rows (%s): %s", study, len(df), len(bench.df),
             ", ".join(bench.devices) or "no devices", counts)
    return df
