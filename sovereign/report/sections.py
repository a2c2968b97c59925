"""HTML sections of the study report beyond the literature: verdict, results, claims, tribunal, revision."""
from __future__ import annotations

import json

import pandas as pd

from .markup import esc, fmt, table

SYNTHETIC_NOTE = ("The routing measurements run shape-matched synthetic workloads (visual tokens plus question "
                  "tokens with VQAv2- and Visual7W-like length distributions, generated and seeded), "
                  "not the VQAv2 or Visual7W datasets themselves.")


def best_table(bench: pd.DataFrame) -> pd.DataFrame:
    """Best throughput per device, model, backend and precision, with the batch that reached it."""
    ok = bench[(bench["status"] == "ok") & bench["throughput_ips"].notna()] if not bench.empty else bench
    if ok.empty:
        return ok
    idx = ok.groupby(["suite", "device", "model", "backend", "precision"])["throughput_ips"].idxmax()
    cols = ["suite", "device", "gpu_name", "model", "backend", "precision", "batch_size", "throughput_ips",
            "latency_ms_p50", "latency_ms_p99"]
    return ok.loc[idx, cols].sort_values(["suite", "model", "throughput_ips"], ascending=[True, True, False])


def not_run_table(bench: pd.DataFrame) -> pd.DataFrame:
    """Configurations that did not produce a result, with their status and reason."""
    if bench.empty:
        return bench
    bad = bench[bench["status"] != "ok"]
    return bad.groupby(["device", "model", "backend", "precision", "status", "reason"], dropna=False,
                       as_index=False)["batch_size"].agg(lambda s: ", ".join(str(int(b)) for b in sorted(s)))


def verdict_section(verdicts: pd.DataFrame) -> list[str]:
    """The decision (final round) and every round's score."""
    if verdicts.empty:
        return ["<h2>Verdict</h2><p>No verdict yet (the verdicts stage has not run for this study).</p>"]
    last = verdicts.sort_values("round").iloc[-1]
    cls = {"ACCEPT": "ok", "REJECT": "bad"}.get(str(last["decision"]), "warn")
    return ["<h2>Verdict</h2>",
            f'<p class="verdict {cls}"><b>{esc(last["decision"])}</b> after round {int(last["round"])}: score '
            f'{float(last["score"]):.2f} / 10, {int(last["verified_claims"])} claims verified by measurement.</p>',
            f"<p>Reasons: {esc(last['reasons'])}</p>",
            table(verdicts, [("round", "round"), ("decision", "decision"), ("score", "score"),
                             ("verified_claims", "verified"), ("reasons", "reasons")])]


def claims_section(checks: pd.DataFrame) -> list[str]:
    """Every extracted claim with its check, confidence and reason."""
    if checks.empty:
        return ["<h2>Claims</h2><p>No claims were checked.</p>"]
    cols = [("claim_id", "claim"), ("paper_id", "paper"), ("sentence", "sentence"), ("status", "status"),
            ("claimed_value", "claimed"), ("measured_value", "measured"), ("ratio", "measured / claimed"),
            ("plausibility", "plausibility"), ("confidence", "confidence"), ("reason", "reason")]
    cols = [c for c in cols if c[0] in checks.columns]
    counts = checks["status"].value_counts().to_dict()
    summary = ", ".join(f"{esc(k)}: {v}" for k, v in sorted(counts.items()))
    return [f"<h2>Claims checked against measurements ({len(checks)})</h2><p>{summary}</p>",
            table(checks.sort_values(["status", "claim_id"]), cols)]


def tribunal_section(reviews: pd.DataFrame) -> list[str]:
    """Each role's score and itemised rationale per round (and the LLM's, when one was asked)."""
    if reviews.empty:
        return ["<h2>Tribunal</h2><p>No tribunal reviews.</p>"]
    out = ["<h2>Tribunal</h2>"]
    for r in reviews.to_dict("records"):
        lines = "".join(f"<li>{esc(x[2:] if x.startswith('- ') else x)}</li>" for x in str(r["rationale"]).splitlines())
        llm = ""
        if r.get("llm_rationale"):
            llm = (f"<p><i>LLM ({esc(r.get('llm_model'))}) score {esc(fmt(r.get('llm_score'), 2))}:</i> "
                   f"{esc(r['llm_rationale'])}</p>")
        out.append(f"<details open><summary>Round {int(r['round'])} {esc(r['role'])}: {float(r['score']):.2f}</summary>"
                   f"<ul>{lines}</ul>{llm}</details>")
    return out


def revision_section(verdicts: pd.DataFrame) -> list[str]:
    """What the revision round added and what it changed."""
    if verdicts.empty or "evidence_changes" not in verdicts or verdicts["evidence_changes"].isna().all():
        return []
    rev = json.loads(verdicts["evidence_changes"].dropna().iloc[-1])
    items = [f"benchmark rows {rev['bench_rows_before']} &rarr; {rev['bench_rows_after']} "
             f"(devices {esc(', '.join(rev['devices_before']) or 'none')} &rarr; {esc(', '.join(rev['devices_after']) or 'none')})",
             f"re-grounding ({esc(rev['regrounding_method'])}): {rev['sentences_searched']} sentences of "
             f"{rev['papers_searched']} fetched papers searched; {len(rev['corroborated_claims'])} claims corroborated "
             "by another paper",
             "papers recovered as evidence: " + (esc(", ".join(p["paper_id"] for p in rev["papers_recovered"])) or "none")]
    requery = rev.get("requery")
    if requery:
        queries = "; ".join(f"&ldquo;{esc(q['text'])}&rdquo; ({q.get('records', 0)} hits, {q.get('new_papers', 0)} new)"
                            for q in requery["queries"]) or "none"
        kept = ", ".join(esc(f"{p['paper_id']} {p['title']}") for p in requery["papers_kept"]) or "none"
        items.append(f"refined searches: {queries}; {requery['papers_not_seen_before']} papers screening never saw, "
                     f"kept as on topic: {kept}")
    changes = pd.DataFrame(rev["claim_changes"])
    out = ["<h2>Revision round: what changed</h2>", "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"]
    if not changes.empty:
        out.append(table(changes, [("claim_id", "claim"), ("from", "round 1"), ("to", "round 2"),
                                   ("measured_before", "measured before"), ("measured_after", "measured after"),
                                   ("reason", "reason")]))
    else:
        out.append("<p>No claim changed status or measured value.</p>")
    return out


def results_section(bench: pd.DataFrame) -> list[str]:
    """Best throughput per configuration and the configurations that did not run."""
    best, bad = best_table(bench), not_run_table(bench)
    out = ["<h2>Measurements</h2>"]
    if best.empty:
        out.append("<p>No successful benchmark rows for this study's suites.</p>")
    else:
        out.append(table(best, [("suite", "suite"), ("device", "device"), ("gpu_name", "hardware"), ("model", "model"),
                                ("backend", "backend"), ("precision", "precision"), ("batch_size", "best batch"),
                                ("throughput_ips", "items/s"), ("latency_ms_p50", "p50 ms"),
                                ("latency_ms_p99", "p99 ms")]))
    if not bad.empty:
        out += ["<h3>Not measured</h3>", table(bad, [("device", "device"), ("model", "model"), ("backend", "backend"),
                                                     ("precision", "precision"), ("status", "status"),
                                                     ("reason", "reason"), ("batch_size", "batch sizes")])]
    return out


def committed_section(files: list[dict], charts: dict[str, str] | None = None) -> list[str]:
    """Results measured elsewhere by this harness and committed, labelled with device and date."""
    out = []
    for f in files:
        chart = (charts or {}).get(f["path"], "")
        best = best_table(f["rows"].assign(suite=f["rows"].get("suite", "?")))
        out += [f"<h2>Committed measurements: {esc(f['gpu'])}</h2>",
                f'<p class="warn">Measured on {esc(f["gpu"])} (device {esc(f["device"])}) by this project\'s '
                f"benchmark harness, date {esc(f['date'])}; file <code>{esc(f['path'])}</code>. Not produced by this "
                "run.</p>",
                table(best, [("device", "device"), ("model", "model"), ("backend", "backend"), ("precision", "precision"),
                             ("batch_size", "best batch"), ("throughput_ips", "items/s"),
                             ("latency_ms_p50", "p50 ms")]) if not best.empty else "<p>No successful rows.</p>",
                chart]
    return out
