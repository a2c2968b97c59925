"""HTML building blocks of the study report (escaping, cells, tables, the page). Every value is escaped."""
from __future__ import annotations

import html

import pandas as pd

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#1b1f24;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
.q{color:#57606a;font-style:italic} table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;vertical-align:top;text-align:left}
th{background:#f6f8fa} tr.dropped td{color:#8c959f} .num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:0 .4rem;border-radius:.6rem;font-size:.8rem;background:#eaeef2}
.warn{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem;border-radius:.3rem}
details summary{cursor:pointer;color:#0969da}
.verdict{font-size:1.1rem;padding:.5rem;border-radius:.3rem} .ok{background:#dafbe1} .bad{background:#ffebe9}
.chart{margin:.5rem 0 1.5rem 0}
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


def page(title: str, sections: list[str], head: str = "") -> str:
    """A whole self-contained page (`head`: inlined scripts)."""
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>{CSS}</style>{head}</head><body>{''.join(sections)}</body></html>")
