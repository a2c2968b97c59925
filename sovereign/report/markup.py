"""HTML building blocks of the study report (escaping, cells, tables, the page). Every value is escaped."""
from __future__ import annotations

import html

import pandas as pd

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1rem auto;max-width:1200px;padding:0 1rem;
color:#1b1f24;line-height:1.4;box-sizing:border-box}
h1{font-size:1.4rem;margin:.2rem 0} h2{margin-top:1.6rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
.q{color:#57606a;font-style:italic;margin:.2rem 0} table{border-collapse:collapse;width:100%;font-size:.85rem;table-layout:auto}
th,td{border:1px solid #d0d7de;padding:.25rem .45rem;vertical-align:top;text-align:left;overflow-wrap:anywhere;word-break:break-word}
table.compact{width:auto;max-width:100%} .small{font-size:.8rem;color:#57606a} code{overflow-wrap:anywhere}
td.nw,td.num{white-space:nowrap;overflow-wrap:normal;word-break:normal} th{overflow-wrap:normal;word-break:normal} .claimcell{display:block;min-width:15rem} .claimid{font-family:ui-monospace,monospace;font-size:.75rem;color:#57606a} .words{cursor:help}
p.answer{margin:.3rem 0;font-size:1.02rem} .answerbox{border-left:4px solid #0969da;padding:.1rem .8rem;margin:.5rem 0}
th{background:#f6f8fa} tr.dropped td{color:#8c959f} .num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:0 .4rem;border-radius:.6rem;font-size:.8rem;background:#eaeef2}
.warn{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem;border-radius:.3rem}
details summary{cursor:pointer;color:#0969da}
.verdict{font-size:1.1rem;padding:.5rem;border-radius:.3rem} .ok{background:#dafbe1} .bad{background:#ffebe9}
.chart{margin:.5rem 0 1.5rem 0;max-width:100%;overflow-x:auto}
"""


class Markup:
    """Markup this module built from escaped parts: a table cell shows it as is (not a str, so pandas keeps it)."""

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text


def esc(value) -> str:
    """Escape any value for HTML text or attribute context (Markup passes as it is)."""
    if isinstance(value, Markup):
        return str(value)
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return html.escape(str(value), quote=True)


def fmt(value, digits=3) -> str:
    """A number for a table cell, or an empty cell."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return f"{value:.{digits}f}" if isinstance(value, float) else esc(value)


def shorten(text, limit: int = 90) -> str:
    """The text cut at a word boundary near `limit` characters, with an ellipsis when cut."""
    t = " ".join(str(text or "").split())
    if len(t) <= limit:
        return t
    cut = t[:limit].rsplit(" ", 1)[0] or t[:limit]
    return cut.rstrip(",;:") + "…"


def claim_cell(claim_id, sentence, limit: int = 90) -> Markup:
    """A claim by its words (shortened, the whole sentence on hover) beside its id."""
    words = str(sentence or "").strip()
    if not words:
        return Markup(f'<span class="claimid">{esc(claim_id)}</span>')
    return Markup(f'<span class="claimcell"><span class="words" title="{esc(words)}">“{esc(shorten(words, limit))}”'
                  f'</span> <span class="claimid">{esc(claim_id)}</span></span>')


def table(df: pd.DataFrame, columns: list[tuple[str, str]], row_class=None, cls: str = "") -> str:
    """An HTML table of `columns` (key, header) from df, every cell escaped (Markup cells are built escaped)."""
    head = "".join(f"<th>{esc(h)}</th>" for _, h in columns)
    body = []
    for rec in df.to_dict("records"):
        row_cls = f' class="{esc(row_class(rec))}"' if row_class else ""
        cells = []
        for key, _ in columns:
            val = rec.get(key)
            num = isinstance(val, (int, float)) and not isinstance(val, bool)
            short = isinstance(val, str) and len(val) <= 16 and " " not in val  # an id or a label: never broken
            cells.append(f'<td class="num">{fmt(val)}</td>' if num else
                         f'<td class="nw">{esc(val)}</td>' if short else f"<td>{esc(val)}</td>")
        body.append(f"<tr{row_cls}>{''.join(cells)}</tr>")
    klass = f' class="{esc(cls)}"' if cls else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(title: str, sections: list[str], head: str = "") -> str:
    """A whole self-contained page (`head`: inlined scripts)."""
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>{CSS}</style>{head}</head><body>{''.join(sections)}</body></html>")
