"""The study report as Markdown laid out like a paper. Every value from papers is escaped."""
from __future__ import annotations

import html
import re

import pandas as pd

from .sections import SYNTHETIC_NOTE, answer_items, best_table, provenance_note

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")


def md(value) -> str:
    """Escape a value for Markdown text and table cells (HTML specials too, newlines flattened)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = " ".join(str(value).split())
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def num(value, digits: int = 4) -> str:
    """A number for a Markdown cell."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return f"{value:,.{digits}g}" if isinstance(value, (int, float)) else md(value)


def md_table(df: pd.DataFrame, columns: list[tuple[str, str]]) -> str:
    """A Markdown table, every cell escaped."""
    if df.empty:
        return "_none_\n"
    lines = ["| " + " | ".join(md(h) for _, h in columns) + " |", "|" + "---|" * len(columns)]
    for rec in df.to_dict("records"):
        cells = [num(rec.get(k)) if isinstance(rec.get(k), (int, float)) and not isinstance(rec.get(k), bool)
                 else md(rec.get(k)) for k, _ in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def confidence_label(c) -> str:
    """high / medium / low from a 0..1 confidence."""
    if c is None or pd.isna(c):
        return "unknown"
    return "high" if c >= 0.7 else "medium" if c >= 0.4 else "low"


def render_markdown(study: str, question: str, data: dict, screening: dict, routing: bool,
                    frame: dict | None = None) -> str:
    """Abstract, Introduction, Methodology, Results, Uncertainties, Extracted Claims, References."""
    papers, checks, verdicts, bench, queries = (data["papers"], data["claim_checks"], data["verdicts"],
                                                 data["bench"], data["queries"])
    kept = papers[papers["kept"].astype(bool)] if not papers.empty else papers
    last = verdicts.sort_values("round").iloc[-1] if not verdicts.empty else None
    counts = checks["status"].value_counts().to_dict() if not checks.empty else {}
    ok = bench[bench["status"] == "ok"] if not bench.empty else bench
    devices = sorted(set(ok["device"].astype(str))) if not ok.empty else []
    decision = (f"The tribunal's decision is **{md(last['decision'])}** (score {float(last['score']):.2f}/10 after "
                f"round {int(last['round'])}, {int(last['verified_claims'])} claims verified by measurement)."
                if last is not None else "No verdict has been reached yet.")
    findings, untested = answer_items(data.get("answers"))
    answer = []
    if findings:
        answer = ["## Answer", ""]
        for f in findings:
            answer += [md(f), ""]
        if untested:
            answer += ["Not tested here (and what would test it):", ""] + [f"- {md(u)}" for u in untested[:12]] + [""]
    note = provenance_note(data["claims"])
    out = [f"# {md(study)}: {md(question)}", ""] + answer + (
        [f"> **Where the claims come from.** {md(note)}", ""] if note else []) + ["## Verdict", "", decision, "",
           "## Abstract", "",
           f"We screened {len(papers)} retrieved papers ({len(kept)} kept), extracted {len(checks)} claims and checked "
           f"them against {len(ok)} benchmark measurements on {md(', '.join(devices)) or 'no device'}: "
           + ", ".join(f"{v} {md(k)}" for k, v in sorted(counts.items())) + ". " + decision, "",
           "## Introduction", "",
           f"The question: {md(question)} Papers report numbers; this study re-measures them on the hardware at hand "
           "and lets a three-role tribunal weigh the evidence.", "",
           "## Methodology", "",
           f"- Literature: {len(queries)} queries; papers kept by TF-IDF and embedding similarity "
           f"({md(screening.get('embedding_method'))}) with thresholds {md(screening.get('thresholds'))}.",
           "- Claims: extracted into structured form (metric, value, unit, qualifier, subject, baseline) and grounded "
           "in their source sentence.",
           "- Measurements: benchmark suites on synthetic inputs, warm-up then timed iterations until the median is "
           "stable; unavailable, out-of-memory and mismatched configurations are recorded, never reported as results.",
           "- Checks: a claim is REPRODUCED when the matching measurement lies within the tolerance; ratios compare "
           "matching subject and baseline measurements; plausibility compares claimed throughput with device peaks.",
           "- Tribunal: SKEPTIC, VALIDATOR and SYNTHESIZER scores with a revision round below the threshold.", ""]
    if routing:
        out += [f"- {md(SYNTHETIC_NOTE)}", ""]
    best = best_table(bench)
    out += ["## Results", "", md_table(best, [("device", "device"), ("hardware", "hardware"), ("model", "model"),
                                              ("backend", "backend"), ("precision", "precision"),
                                              ("batch_size", "best batch"), ("throughput_ips", "items/s"),
                                              ("latency_ms_p50", "p50 ms")])]
    from .data import reference_results

    for f in reference_results(data.get("reference")):  # shown apart, never as this run's measurements
        out += [f"Reference measurement (origin `reference`, not this run): {md(f['path'])}, {md(f['gpu'])}, "
                f"measured {md(f['date'])}, commit {md(f['commit'][:12])}, {len(f['rows'])} rows.", ""]
    if routing:
        from .charts import routing_speedup

        sp = routing_speedup(bench)
        if not sp.empty:
            sp = sp.assign(activation_cut=sp["activation_reduction"] * 100)
            out += ["On-demand routing against top-k (grouped dispatch, median latency); a speed-up above 1 means "
                    "fewer activations turned into lower latency:", "",
                    md_table(sp, [("panel", "phase / workload"), ("batch_size", "batch"), ("topk_strategy", "top-k"),
                                  ("speedup", "speed-up (x)"), ("activation_cut", "fewer real activations (%)")])]
    if last is not None:
        out += [decision, "", f"Reasons: {md(last['reasons'])}", ""]
    unc = []
    if screening.get("study_drift"):
        unc.append(f"Topic drift flagged by screening: {md(screening.get('drift_reason'))}")
    if not checks.empty:
        for r in checks[checks["status"] == "UNTESTABLE"].head(12).itertuples():
            unc.append(f"{md(r.claim_id)} untestable: {md(r.reason)}")
        for r in checks[checks["plausibility"] == "implausible"].itertuples():
            unc.append(f"{md(r.claim_id)} implausible: {md(r.plausibility_reason if hasattr(r, 'plausibility_reason') else r.reason)}")
    for c in (frame or {}).get("off_frame", [])[:12]:
        unc.append(f"{md(c['claim_id'])} ({md(c['paper_id'])}) left out, off the question's frame: {md(c['reason'])}")
    unc.append("Measurements use synthetic inputs and random weights; absolute figures depend on the host.")
    out += ["## Uncertainties", ""] + [f"- {u}" for u in unc] + [""]
    claims_tbl = checks.copy()
    if not claims_tbl.empty:
        claims_tbl["confidence_label"] = [f"{confidence_label(c)} ({c:.2f})" if c is not None and not pd.isna(c) else "unknown"
                                          for c in claims_tbl.get("confidence", pd.Series([None] * len(claims_tbl)))]
    out += ["## Extracted Claims", "", md_table(claims_tbl, [("claim_id", "claim"), ("paper_id", "paper"),
                                                              ("sentence", "claim sentence"),
                                                              ("text_origin_label", "text origin"), ("status", "status"),
                                                              ("confidence_label", "confidence"),
                                                              ("claimed_value", "claimed"),
                                                              ("measured_value", "measured")])]
    refs = [f"{i}. {md(', '.join(list(p.get('authors') if p.get('authors') is not None else [])))} "
            f"({md(str(p.get('published') or '')[:4])}). {md(p.get('title'))}. arXiv:{md(p.get('paper_id'))}."
            + (" Read from an offline corpus record (our paraphrase), not the paper's text."
               if p.get("text_origin") == "snapshot" else "")
            for i, p in enumerate(kept.to_dict("records"), 1)]
    out += ["## References", ""] + (refs or ["_none kept_"]) + [""]
    return "\n".join(out)
