"""HTML building blocks for the study report. Every value from papers or config is escaped."""
from __future__ import annotations

import datetime as dt
import html
import json

import duckdb
import pandas as pd

from ..io import read_json, write_text

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#1b1f24;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
.q{color:#57606a;font-style:italic} table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;vertical-align:top;text-align:left}
th{background:#f6f8fa} tr.dropped td{color:#8c959f} .num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:0 .4rem;border-radius:.6rem;font-size:.8rem;background:#eaeef2}
.warn{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem;border-radius:.3rem}
details summary{cursor:pointer;color:#0969da}
"""


def esc(value) -> str:
    """Escape any value for HTML text or attribute context."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return html.escape(str(value), quote=True)


def fmt(value, digits=3) -> str:
    """A number for a table cell, or an empty cell."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return f"{value:.{digits}f}" if isinstance(value, float) else esc(value)


def table(df: pd.DataFrame, columns: list[tuple[str, str]], row_class=None) -> str:
    """An HTML table of `columns` (key, header) from df, every cell escaped."""
    head = "".join(f"<th>{esc(h)}</th>" for _, h in columns)
    body = []
    for rec in df.to_dict("records"):
        cls = f' class="{esc(row_class(rec))}"' if row_class else ""
        cells = []
        for key, _ in columns:
            val = rec.get(key)
            num = isinstance(val, (int, float)) and not isinstance(val, bool)
            cells.append(f'<td class="num">{fmt(val)}</td>' if num else f"<td>{esc(val)}</td>")
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(title: str, sections: list[str]) -> str:
    """A whole self-contained page."""
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body>{''.join(sections)}</body></html>")


def _fetch(con, sql: str, params=None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def literature_sections(con, study: str, screening: dict) -> list[str]:
    """Queries and screened papers of a study."""
    queries = _fetch(con, "SELECT query_id, text FROM queries WHERE study = ? ORDER BY query_id", [study])
    papers = _fetch(con, "SELECT paper_id, title, published, relevance_tfidf, relevance_embedding, kept, drift "
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
                           ("relevance_tfidf", "TF-IDF"), ("relevance_embedding", "embedding"), ("status", "status")],
                  row_class=lambda r: "" if r["kept"] else "dropped")]
    return out


def render_report(db_path: str, study: str, question: str, screening_path: str, out_html: str) -> None:
    """Write the study's HTML report from the warehouse."""
    screening = read_json(screening_path)
    with duckdb.connect(str(db_path), read_only=True) as con:
        sections = [f"<h1>sovereign study: {esc(study)}</h1>", f'<p class="q">{esc(question)}</p>',
                    f"<p>Generated {esc(dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'))} "
                    f"from <code>{esc(db_path)}</code>.</p>"]
        sections += literature_sections(con, study, screening)
    write_text(out_html, page(f"sovereign — {study}", sections))
