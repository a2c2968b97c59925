"""render_report: the study report page from the warehouse (building blocks in markup.py, sections in sections.py)."""
from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd

from ..io import read_json, write_text
from ..verdicts.hardware import load_hardware
from ..verdicts.match import ROUTING_SUITE
from . import charts, sections
from .data import reference_results
from .data import load_study
from .markdown import render_markdown
from .markup import esc, page, table
from .vega import bundle_tag, embed_div, javascript_bundle, save_images


def _fetch(con, sql: str, params=None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def literature_sections(con, study: str, screening: dict) -> list[str]:
    """Queries and screened papers of a study."""
    queries = _fetch(con, "SELECT query_id, text FROM queries WHERE study = ? ORDER BY query_id", [study])
    papers = _fetch(con, "SELECT paper_id, title, published, relevance_tfidf, relevance_embedding, kept, drift, "
                         "text_origin "
                         "FROM papers WHERE study = ? ORDER BY kept DESC, relevance_tfidf DESC, paper_id", [study])
    out = [f"<h2>Queries ({len(queries)})</h2>", table(queries, [("query_id", "id"), ("text", "query")])]
    drift = ""
    if screening.get("study_drift"):
        drift = f'<p class="warn">Topic drift for this study: {esc(screening.get("drift_reason"))}</p>'
    papers["status"] = ["kept" if k else ("drift" if d else "dropped") for k, d in zip(papers.kept, papers.drift)]
    out += [f"<h2>Papers ({int(papers.kept.sum())} kept of {len(papers)} retrieved)</h2>", drift,
            f"<p>Embedding method: {esc(screening.get('embedding_method'))}; thresholds: "
            f"{esc(json.dumps(screening.get('thresholds', {}), sort_keys=True))}</p>",
            table(papers, [("paper_id", "arXiv id"), ("title", "title"), ("published", "published"),
                           ("text_origin", "text origin"), ("relevance_tfidf", "TF-IDF"),
                           ("relevance_embedding", "embedding"), ("status", "status")],
                  row_class=lambda r: "" if r["kept"] else "dropped")]
    return out


def render_report(db_path: str, study: str, question: str, screening_path: str, out_html: str,
                  out_md: str | None = None, charts_dir: str | None = None, suites: list[str] | None = None,
                  images: bool = True, png_scale: float = 1.0,
                  cache_dir: str | None = None, tolerance: float = 0.15, cpu_baseline_backend: str = "pytorch",
                  cpu_baseline_precision: str = "fp32", devices_file: str | None = None,
                  frame_path: str | None = None) -> dict:
    """Write the study's self-contained HTML report (and Markdown, chart images) from the warehouse."""
    screening = read_json(screening_path)
    data = load_study(db_path, study, suites)
    bench = data["bench"]
    routing = (suites is not None and ROUTING_SUITE in suites) or (
        not bench.empty and ROUTING_SUITE in set(bench["suite"]))
    hw = load_hardware(devices_file or None)
    frame = read_json(frame_path) if frame_path else None
    specs = charts.build(bench, data["claim_checks"], data["tribunal_reviews"], tolerance,
                         hw.backend_names(cpu_baseline_backend), cpu_baseline_precision,
                         on_frame=sections.frame_rows(bench, frame, hw.is_cpu) if frame else None)
    committed = reference_results(data["reference"])
    with duckdb.connect(str(db_path), read_only=True) as con:
        lit = literature_sections(con, study, screening)
    titles = {"throughput": "Throughput versus batch size", "latency": "Latency (p50) versus batch size",
              "speedup": "Speed-up over the CPU baseline", "claims": "Claimed versus measured",
              "tribunal": "Tribunal score by role and round",
              "routing": "Routing strategies: latency, throughput, and on-demand versus top-k"}
    order = ["routing"] if routing and "routing" in specs else []
    order += [n for n in charts.CHARTS if n not in order and n in specs and not (n == "routing" and not routing)]
    chart_html = []
    for name in order:
        note = f'<p class="warn">{esc(sections.SYNTHETIC_NOTE)}</p>' if name == "routing" else ""
        chart_html.append(f"<h3>{esc(titles[name])}</h3>{note}{embed_div(name, specs[name])}")
    body = [f"<h1>sovereign study: {esc(study)}</h1>", f'<p class="q">{esc(question)}</p>',
            f"<p>Generated {esc(dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'))} "
            f"from <code>{esc(db_path)}</code>.</p>"]
    words = sections.claim_words(data)
    # the answer's headlines, then the verdict, on the first screen; the answer's tables and where the claims'
    # text comes from right below
    body += sections.answer_section(data.get("answers"), words) + sections.verdict_section(data["verdicts"], words)
    body += sections.answer_detail_section(data.get("answers"), words) + sections.provenance_section(data["claims"])
    body += sections.frame_section(frame, words)
    body += (["<h2>Charts</h2>"] + chart_html) if chart_html else []
    body += sections.results_section(bench) + sections.claims_section(data["claim_checks"], words)
    body += sections.tribunal_section(data["tribunal_reviews"], words) + sections.revision_section(data["verdicts"])
    committed_charts = {}
    for f in committed:
        rows = f["rows"]
        if "suite" in rows and (rows["suite"] == ROUTING_SUITE).any():
            spec = charts.routing_chart(rows).to_dict()
            note = f'<p class="warn">{esc(sections.SYNTHETIC_NOTE)}</p>'
        else:
            spec, note = charts.versus_batch(rows, "throughput_ips", "Throughput (items/s)").to_dict(), ""
        committed_charts[f["path"]] = note + embed_div("committed:" + f["path"], spec)
    body += sections.committed_section(committed, committed_charts) + lit
    head_js = bundle_tag(javascript_bundle(cache_dir))
    write_text(out_html, page(f"sovereign — {study}", body, head_js))
    written = [out_html]
    if out_md:
        write_text(out_md, render_markdown(study, question, data, screening, routing, frame))
        written.append(out_md)
    if charts_dir and images:  # every chart's image file exists (the rule lists them); undrawn ones say why
        placeholders = {n: charts.placeholder("nothing here bears on this study's question").to_dict()
                        for n in charts.CHARTS if n not in specs}
        written += save_images({**specs, **placeholders}, charts_dir, png_scale)
    return {"files": written, "charts": list(specs)}
