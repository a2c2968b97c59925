"""HTML sections of the study report beyond the literature: verdict, results, claims, tribunal, revision."""
from __future__ import annotations

import json
import re

import pandas as pd

from .markup import Markup, claim_cell, esc, fmt, shorten, table

SYNTHETIC_NOTE = ("The routing measurements run shape-matched synthetic workloads (visual tokens plus question "
                  "tokens with VQAv2- and Visual7W-like length distributions, generated and seeded), "
                  "not the VQAv2 or Visual7W datasets themselves.")


# tested first: what a reader wants to see before what could not be tested or is no measurement
STATUS_ORDER = {"REPRODUCED": 0, "NOT_REPRODUCED": 1, "CONDITIONAL": 2, "UNTESTABLE": 3, "NOT_EMPIRICAL": 4}


def claim_words(data: dict) -> dict[str, str]:
    """claim_id -> its sentence, from the claims table and the checks."""
    words = {}
    for name in ("claims", "claim_checks"):
        df = data.get(name)
        if df is not None and not df.empty and "sentence" in df:
            words.update({str(k): str(v) for k, v in zip(df["claim_id"], df["sentence"]) if isinstance(v, str) and v})
    return words


def name_claims(text, words: dict[str, str], limit: int = 60) -> str:
    """Plain text with every claim id it names followed by the claim's words, shortened (escape it afterwards)."""
    if not words or not isinstance(text, str):
        return text
    pat = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(words, key=len, reverse=True)) + r")\b(?! \(“)")
    return pat.sub(lambda m: f"{m.group(1)} (“{shorten(words[m.group(1)], limit)}”)", text)


# What each text_origin means to a reader, beside every claim sentence.
ORIGIN_LABEL = {"pdf": "arXiv PDF", "abstract": "arXiv abstract", "snapshot": "corpus paraphrase"}


def origin_label(value) -> str:
    """The reader's words for a text_origin value ('unknown' when a row lacks one)."""
    return ORIGIN_LABEL.get(str(value), "unknown") if isinstance(value, str) and value else "unknown"


def with_text_origin(checks: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """claim_checks rows with their claim's text_origin (from the claims table) and its label."""
    if checks.empty:
        return checks
    origin = {}
    if not claims.empty and "text_origin" in claims.columns:
        origin = dict(zip(claims["claim_id"].astype(str), claims["text_origin"]))
    out = checks.copy()
    if "text_origin" not in out.columns:
        out["text_origin"] = [origin.get(str(c)) for c in out["claim_id"]]
    out["text_origin_label"] = [origin_label(v) for v in out["text_origin"]]
    return out


def provenance_note(claims: pd.DataFrame) -> str:
    """One plain sentence on where the study's claim sentences come from (empty without claims)."""
    if claims.empty:
        return ""
    values = claims["text_origin"] if "text_origin" in claims.columns else pd.Series([None] * len(claims))
    counts = pd.Series([v if isinstance(v, str) and v else "unknown" for v in values]).value_counts().to_dict()
    n, snap = len(claims), counts.get("snapshot", 0)
    corpus = ("offline corpus records (text origin: snapshot): the bundled corpus is the project's own paraphrase "
              "of the papers, whose figures come from the papers, not the papers' text")
    if snap == n:
        return f"All {n} claims come from {corpus}."
    parts = [f"{counts[k]} from the {ORIGIN_LABEL[k]}s" if k != "snapshot" else f"{counts[k]} from {corpus}"
             for k in ("pdf", "abstract", "snapshot") if counts.get(k)]
    if counts.get("unknown"):
        parts.append(f"{counts['unknown']} of unrecorded origin")
    return f"Of the {n} claims, " + "; ".join(parts) + "."


def provenance_section(claims: pd.DataFrame) -> list[str]:
    """The provenance note near the top of the page, a warning when corpus paraphrase is part of the evidence."""
    note = provenance_note(claims)
    if not note:
        return []
    snapshot = "text_origin" in claims.columns and (claims["text_origin"] == "snapshot").any()
    return [f'<p class="{"warn" if snapshot else "q"}" id="provenance"><b>Where the claims come from.</b> '
            f"{esc(note)}</p>"]


def best_table(bench: pd.DataFrame) -> pd.DataFrame:
    """Best throughput per device, model, backend and precision, with the batch that reached it."""
    ok = bench[(bench["status"] == "ok") & bench["throughput_ips"].notna()] if not bench.empty else bench
    if ok.empty:
        return ok
    # what the row ran on (its hardware record; older rows: the GPU name), never the entry's name
    hw = ok["hardware"].where(ok["hardware"].notna(), ok["gpu_name"]) if "hardware" in ok else ok["gpu_name"]
    ok = ok.assign(hardware=hw)
    idx = ok.groupby(["suite", "device", "model", "backend", "precision"])["throughput_ips"].idxmax()
    cols = ["suite", "device", "hardware", "model", "backend", "precision", "batch_size", "throughput_ips",
            "latency_ms_p50", "latency_ms_p99"]
    return ok.loc[idx, cols].sort_values(["suite", "model", "throughput_ips"], ascending=[True, True, False])


def not_run_table(bench: pd.DataFrame) -> pd.DataFrame:
    """Configurations that did not produce a result, with their status and reason."""
    if bench.empty:
        return bench
    bad = bench[bench["status"] != "ok"]
    return bad.groupby(["device", "model", "backend", "precision", "status", "reason"], dropna=False,
                       as_index=False)["batch_size"].agg(lambda s: ", ".join(str(int(b)) for b in sorted(s)))


def answer_items(answers: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(headlines, what could not be tested) of a study's answer, in plain sentences."""
    if answers is None or answers.empty:
        return [], []
    head = answers["headline"] if "headline" in answers else answers["finding"]
    findings = [f"{r['comparison']}: {h if isinstance(h, str) and h else r['finding']}" + (
        " (part of it is conditional on a claimed figure, never a reproduction)" if bool(r["conditional"]) else "")
        for r, h in zip(answers.to_dict("records"), head)]
    untested = sorted({u.strip() for x in answers["untested"].dropna() for u in str(x).split("; ") if u.strip()})
    return findings, untested


def answer_section(answers: pd.DataFrame, words: dict[str, str] | None = None) -> list[str]:
    """The study's answer on the first screen: one headline sentence per comparison the question asks."""
    findings, _ = answer_items(answers)
    if not findings:
        return ['<h2 id="answer">Answer</h2><p>No answer yet (the tribunal stage has not run for this study).</p>']
    return ['<div class="answerbox" id="answer"><h2>Answer</h2>'] + [
        f'<p class="answer">{esc(name_claims(f, words or {}))}</p>' for f in findings] + ["</div>"]


def _json(value, default):
    try:
        return json.loads(value) if isinstance(value, str) and value else default
    except ValueError:
        return default


def answer_detail_section(answers: pd.DataFrame, words: dict[str, str] | None = None) -> list[str]:
    """Each comparison's compact table, its full per-context details, then what could not be tested."""
    if answers is None or answers.empty:
        return []
    out = ["<h2>The answer in numbers</h2>"]
    for r in answers.to_dict("records"):
        tab = _json(r.get("answer_table"), {})
        details = _json(r.get("details"), [])
        out.append(f"<h3>{esc(r['comparison'])}</h3>")
        if tab.get("rows"):
            df = pd.DataFrame(tab["rows"], columns=tab["columns"])
            out.append(table(df, [(c, c) for c in tab["columns"]], cls="compact"))
            if tab.get("note"):
                out.append(f'<p class="small">{esc(tab["note"])}</p>')
        elif r.get("finding"):
            out.append(f"<p>{esc(name_claims(r['finding'], words or {}))}</p>")
        if details:
            d = pd.DataFrame(details)
            out.append(f"<details><summary>Every measured context ({len(d)})</summary>"
                       + table(d, [(c, c.replace("_", " ")) for c in d.columns]) + "</details>")
    _, untested = answer_items(answers)
    if untested:
        out.append(f"<details><summary>Not tested here ({len(untested)}), and what would test it</summary><ul>"
                   + "".join(f"<li>{esc(name_claims(u, words or {}))}</li>" for u in untested[:12]) + "</ul></details>")
    return out


def frame_section(frame: dict | None, words: dict[str, str] | None = None) -> list[str]:
    """The question frame with each element's coverage, and the claims left out with the reason."""
    if not frame:
        return []
    cover = frame.get("drift", {}).get("elements", [])
    def by(ids):  # claims by their words; a paper id or 'claims' (text coverage) as it is
        known = [i for i in ids if i in (words or {})]
        return Markup("<br>".join(str(claim_cell(i, words[i], 50)) for i in known[:4])
                      + (f" <span class=\"small\">and {len(known) - 4} more</span>" if len(known) > 4 else "")
                      + esc(", ".join(i for i in ids if i not in (words or {}))))
    rows = pd.DataFrame([{"element": e["element"], "field": e.get("field") or "", "value": e["value"],
                          "covered": "yes" if e["covered"] else "no", "by": by(e.get("by", []))} for e in cover])
    off = pd.DataFrame(frame.get("off_frame", []), columns=["claim_id", "paper_id", "reason"])
    off["claim"] = [claim_cell(c, (words or {}).get(str(c))) for c in off["claim_id"]]
    out = ["<h2>What the question is about</h2>",
           "<p>Only claims whose structured fields overlap this frame are checked and judged.</p>"]
    if len(rows):
        out.append(table(rows, [("element", "element"), ("field", "field"), ("value", "value"),
                                ("covered", "covered by on-frame evidence"), ("by", "by")]))
    out.append(f"<h3>Claims off the frame ({len(off)}): listed, never checked or scored</h3>")
    if len(off):
        out.append(table(off, [("claim", "claim"), ("paper_id", "paper"), ("reason", "why it is off the frame")]))
    return out


def verdict_section(verdicts: pd.DataFrame, words: dict[str, str] | None = None) -> list[str]:
    """The decision (final round) on the first screen; its reasons and every round's score just below."""
    if verdicts.empty:
        return ['<p class="verdict warn" id="verdict">No verdict yet (the verdicts stage has not run for this study).</p>']
    last = verdicts.sort_values("round").iloc[-1]
    cls = {"ACCEPT": "ok", "REJECT": "bad"}.get(str(last["decision"]), "warn")
    rounds = verdicts.assign(reasons=[name_claims(x, words or {}) for x in verdicts["reasons"]])
    return [f'<p class="verdict {cls}" id="verdict"><b>Verdict: {esc(last["decision"])}</b> after round '
            f'{int(last["round"])}: score {float(last["score"]):.2f} / 10, {int(last["verified_claims"])} claims '
            "verified by measurement (the same count as the claims table's).</p>",
            f"<details><summary>Why: the tribunal's reasons, round by round</summary>"
            f"<p>{esc(name_claims(last['reasons'], words or {}))}</p>"
            + table(rounds, [("round", "round"), ("decision", "decision"), ("score", "score"),
                             ("verified_claims", "verified"), ("reasons", "reasons")]) + "</details>"]


def _status_cell(r: dict) -> str:
    """The status, and for a reproduced claim that does not count as verified, why not."""
    status = str(r.get("status"))
    if status == "REPRODUCED" and r.get("counts_as_verified") is not None and not pd.isna(r.get("counts_as_verified")) \
            and not bool(r.get("counts_as_verified")):
        note = r.get("verified_note")
        return f"{status}, not counted as verified" + (f": {note}" if isinstance(note, str) and note else "")
    return status


def claims_section(checks: pd.DataFrame, words: dict[str, str] | None = None) -> list[str]:
    """Every extracted claim by its words, tested ones first, with its check, confidence and reason."""
    if checks.empty:
        return ["<h2>Claims</h2><p>No claims were checked.</p>"]
    df = checks.copy()
    df["_order"] = df["status"].map(STATUS_ORDER).fillna(9)
    df = df.sort_values(["_order", "claim_id"], kind="stable")
    df["claim"] = [claim_cell(c, s if isinstance(s, str) and s else (words or {}).get(str(c)))
                   for c, s in zip(df["claim_id"], df.get("sentence", pd.Series([None] * len(df), index=df.index)))]
    df["status_text"] = [_status_cell(r) for r in df.to_dict("records")]
    cols = [("claim", "claim"), ("paper_id", "paper"), ("text_origin_label", "text origin"), ("status_text", "status"),
            ("claimed_value", "claimed"), ("measured_value", "measured"), ("ratio", "measured / claimed"),
            ("plausibility", "plausibility"), ("confidence", "confidence"), ("reason", "reason")]
    cols = [c for c in cols if c[0] in df.columns]
    counts = checks["status"].value_counts().to_dict()
    summary = ", ".join(f"{esc(k)}: {v}" for k, v in sorted(counts.items(), key=lambda kv: STATUS_ORDER.get(kv[0], 9)))
    if "counts_as_verified" in checks:
        summary += f"; verified (counted by the verdict): {int(checks['counts_as_verified'].fillna(False).astype(bool).sum())}"
    return [f'<h2 id="claims">Claims checked against measurements ({len(checks)})</h2><p>{summary}</p>',
            table(df, cols)]


def frame_rows(bench: pd.DataFrame, frame: dict | None, is_cpu=lambda d: False) -> pd.DataFrame:
    """The rows that bear on the question: its named models, and only CPU or only GPU rows when the devices it
    names are all of one kind (a question about L4 against T4 draws no CPU rows)."""
    if bench.empty or not frame:
        return bench
    scope = frame.get("scope") or {}
    devices = scope.get("device") or sorted({d for e in ("subject", "baseline") for d in frame[e].get("device", [])})
    cpu_row = (bench["hardware_kind"].astype(str).eq("cpu") if "hardware_kind" in bench
               else bench["device"].astype(str).str.lower().str.startswith("cpu"))
    if devices and all(is_cpu(d) for d in devices):
        bench = bench[cpu_row]
    elif devices and not any(is_cpu(d) for d in devices):
        bench = bench[~cpu_row]
    models = [m.replace("-", "") for m in scope.get("model") or []]
    if models:
        bench = bench[bench["model"].astype(str).str.lower().str.replace("-", "").isin(models)]
    return bench


def tribunal_section(reviews: pd.DataFrame, words: dict[str, str] | None = None) -> list[str]:
    """Each role's score and itemised rationale per round (and the LLM's, when one was asked)."""
    if reviews.empty:
        return ["<h2>Tribunal</h2><p>No tribunal reviews.</p>"]
    out = ["<h2>Tribunal</h2>"]
    for r in reviews.to_dict("records"):
        lines = "".join(f"<li>{esc(name_claims(x[2:] if x.startswith('- ') else x, words or {}))}</li>"
                        for x in str(r["rationale"]).splitlines())
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
        out.append(table(best, [("suite", "suite"), ("device", "device"), ("hardware", "hardware"), ("model", "model"),
                                ("backend", "backend"), ("precision", "precision"), ("batch_size", "best batch"),
                                ("throughput_ips", "items/s"), ("latency_ms_p50", "p50 ms"),
                                ("latency_ms_p99", "p99 ms")]))
    if not bad.empty:
        out += ["<h3>Not measured</h3>", table(bad, [("device", "device"), ("model", "model"), ("backend", "backend"),
                                                     ("precision", "precision"), ("status", "status"),
                                                     ("reason", "reason"), ("batch_size", "batch sizes")])]
    return out


def committed_section(files: list[dict], charts: dict[str, str] | None = None) -> list[str]:
    """Reference rows (verdicts.reference_results), per file, labelled `reference` with hardware, date, commit."""
    out = []
    for f in files:
        chart = (charts or {}).get(f["path"], "")
        best = best_table(f["rows"].assign(suite=f["rows"].get("suite", "?")))
        out += [f"<h2>Reference measurements ({esc(f['date'])}): {esc(f['gpu'])}</h2>",
                f'<p class="warn">origin <code>reference</code>: measured on {esc(f["gpu"])} (device entry '
                f"{esc(f['device'])}) by this project's benchmark harness on {esc(f['date'])}, commit "
                f"<code>{esc(f.get('commit', '')[:12])}</code>; file <code>{esc(f['path'])}</code>. Not measured by "
                "this run.</p>",
                table(best, [("device", "device"), ("model", "model"), ("backend", "backend"), ("precision", "precision"),
                             ("batch_size", "best batch"), ("throughput_ips", "items/s"),
                             ("latency_ms_p50", "p50 ms")]) if not best.empty else "<p>No successful rows.</p>",
                chart]
    return out
