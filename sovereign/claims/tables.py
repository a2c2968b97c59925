"""Claims from the tables of a paper's PDF: one claim per cell that holds a measured figure.

pdfplumber finds ruled tables on each page. The header row and the row labels are read with
the claims vocabulary (models, devices, backends, precisions, batch sizes, metric words, a
unit in parentheses), the caption (the "Table N" line nearest the table) fills what neither
names, and each numeric body cell becomes an `absolute` (or `ratio`, for `x` units) claim with
`source: table` and its position (page, table index, row, column). A table that cannot be read
(no body, ragged rows, no metric or unit anywhere) is one `failed` row with its reason, as is
a PDF that cannot be opened; neither stops the paper's other claims.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from .clean import clean_residue
from .numbers import mask_non_quantities, prepare, scan
from .parse import CONDITIONS, SIDE, SentenceParser
from .patterns import BATCH, BATCH_B, UNIT_METRIC
from .vocab import FIELD

log = logging.getLogger(__name__)
CAPTION = re.compile(r"^\s*(?:Table|Tab\.)\s*(\d+)\s*[:.]?", re.I)
EMPTY = {"", "-", "--", "\u2013", "\u2014", "n/a", "na", "oom", "x", "\u2717", "\u2713", "?", "tbd"}
_PAREN = re.compile(r"[(\[]([^()\[\]]{1,24})[)\]]")
_BATCH_CELL = re.compile(r"^\s*(?:(?:batch(?:\s*size)?|bs|b)\s*[=:]?\s*)?(\d{1,5})\s*$", re.I)


def _unit_in(text: str) -> str | None:
    """A unit named on its own, as in a header: 'Throughput (images/s)', 'Latency [ms]', 'tokens/s'."""
    for part in _PAREN.findall(text) + [text]:
        qs = scan(mask_non_quantities(prepare("1 " + part.strip())))
        if qs and qs[0].start == 0 and qs[0].unit not in (None, "count"):
            return qs[0].unit
    return None


def _label(parser: SentenceParser, text: str, batch_axis: bool) -> dict:
    """What one header cell, row label or caption names: subject fields, batch, metric, unit."""
    p = prepare(clean_residue(" ".join((text or "").split())))
    out = {"subject": {}, "metric": None, "unit": _unit_in(p)}
    for m in parser.vocab.mentions(p):
        if m.category == "batch":
            out["subject"].setdefault("batch", m.name)
        elif not (m.category == "devices" and m.name == "gpu"):
            out["subject"].setdefault(FIELD[m.category], m.name)
    metrics = parser.vocab.metric_mentions(p)
    if metrics:
        out["metric"] = metrics[0].name
    b = BATCH.search(p) or BATCH_B.search(p)
    if b:
        out["subject"]["batch"] = b.group("a").replace(",", "")
    elif batch_axis and _BATCH_CELL.match(p):
        out["subject"]["batch"] = _BATCH_CELL.match(p).group(1)
    return out


def _cell_value(text: str):
    """(value, unit) of a cell holding one figure ('1,234', '3.2x', '12.5 ms', '76.1%'), else None."""
    t = " ".join((text or "").split())
    if t.lower().strip("* ") in EMPTY:
        return None
    t = re.sub(r"\s*(?:\u00b1|\+/-|\+-)\s*[\d.]+\s*$", "", t)  # "12.3 ± 0.4": the mean is the figure
    qs = scan(mask_non_quantities(prepare(clean_residue(t.strip("*† ")))))
    if len(qs) != 1 or qs[0].high is not None:
        return None
    q = qs[0]
    if len(t.strip("*† ")) - (q.end - q.start) > 3:
        return None  # words around the number: a note, not a figure
    return (-q.value if q.negative else q.value), (None if q.unit == "count" else q.unit)


def _caption(page, bbox) -> str:
    """The 'Table N ...' line nearest above (or else below) the table, with the lines that continue it."""
    try:
        lines = page.extract_text_lines()
    except Exception:  # pdfplumber raises many kinds on odd pages; a caption is optional
        return ""
    best, dist = None, None
    for i, ln in enumerate(lines):
        if CAPTION.match(ln["text"]):
            d = bbox[1] - ln["bottom"] if ln["bottom"] <= bbox[1] + 2 else (ln["top"] - bbox[3]) + 1000
            if d >= -2 and (dist is None or d < dist):
                best, dist = i, d
    if best is None:
        return ""
    text = [lines[best]["text"]]
    for ln in lines[best + 1:best + 4]:  # a caption wraps onto lines directly below it, above the table
        if ln["top"] - lines[best]["bottom"] > 30 or ln["top"] >= bbox[1] - 1 >= lines[best]["bottom"] or CAPTION.match(ln["text"]):
            break
        text.append(ln["text"])
    return " ".join(" ".join(text).split())


def read_tables(pdf_path: str | Path) -> list[dict]:
    """Every ruled table of a PDF: {page, index, caption, rows}; raises ValueError for an unreadable PDF."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError

    out = []
    try:
        with pdfplumber.open(str(pdf_path)) as pdf:
            for pno, page in enumerate(pdf.pages, start=1):
                for table in page.find_tables():
                    rows = [[(c or "").strip() for c in row] for row in table.extract()]
                    out.append({"page": pno, "index": len(out) + 1, "caption": _caption(page, table.bbox), "rows": rows})
    except (PDFSyntaxError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ValueError(f"unreadable PDF ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # pdfminer's own errors share no base class worth naming
        raise ValueError(f"unreadable PDF ({type(exc).__name__}: {exc})") from exc
    return out


def _failed(table: dict | None, reason: str) -> dict:
    row = {"kind": None, "metric": None, "value": None, "unit": None, "qualifier": None, "status": "failed",
           "reason": reason, "sentence": (table or {}).get("caption", ""), "numbers": "",
           "table_caption": (table or {}).get("caption", ""), "table_page": (table or {}).get("page"),
           "table_index": (table or {}).get("index"), "table_row": None, "table_col": None}
    row.update({f"{s}_{k}": None for s in ("subject", "baseline") for k in SIDE})
    row.update({f"condition_{k}": None for k in CONDITIONS})
    return row


def _merge(*labels) -> dict:
    out = {}
    for lab in labels:  # the most specific first: cell's column, then its row, then the caption
        for k, v in lab["subject"].items():
            out.setdefault(k, v)
    return out


def claims_of_table(parser: SentenceParser, table: dict) -> list[dict]:
    """Claim dicts of one table (or one failed row saying why it cannot be read)."""
    rows = [r for r in table["rows"] if any(c for c in r)]
    if len(rows) < 2 or len(rows[0]) < 2:
        return [_failed(table, f"table {table['index']} on page {table['page']} has no header and body "
                               f"({len(rows)} non-empty rows of {len(rows[0]) if rows else 0} cells)")]
    width = len(rows[0])
    ragged = [i for i, r in enumerate(rows) if len(r) != width]
    if ragged:
        return [_failed(table, f"table {table['index']} on page {table['page']}: row {ragged[0]} has "
                               f"{len(rows[ragged[0]])} cells, the header {width}")]
    corner = rows[0][0]
    batch_rows = bool(re.search(r"\bbatch|\bbs\b", corner, re.I))
    cap = _label(parser, table.get("caption", ""), False)
    cols = [_label(parser, h, True) for h in rows[0]]
    body = [[_label(parser, r[0], batch_rows)] for r in rows[1:]]
    claims, numeric, unread = [], 0, 0
    for i, r in enumerate(rows[1:], start=1):
        rlab = body[i - 1][0]
        for j in range(1, width):
            cell = _cell_value(r[j])
            if cell is None:
                continue
            numeric += 1
            value, unit = cell
            col = cols[j]
            unit = unit or col["unit"] or rlab["unit"] or cols[0]["unit"] or cap["unit"]
            metric = col["metric"] or rlab["metric"] or cols[0]["metric"] or cap["metric"]
            if metric is None and unit:
                metric = _unit_metric(unit)
            if metric is None and unit is None:
                unread += 1
                continue
            subject = _merge(col, rlab, cols[0], cap)
            claim = {"kind": "ratio" if unit == "x" else "absolute", "metric": metric, "value": value, "unit": unit,
                     "qualifier": "exact", "status": "ok", "reason": "",
                     "sentence": table.get("caption") or " ".join(c for c in r if c),
                     "numbers": _num(value), "table_caption": table.get("caption", ""), "table_page": table["page"],
                     "table_index": table["index"], "table_row": i, "table_col": j}
            claim.update({f"subject_{k}": subject.get(k) for k in SIDE})
            claim.update({f"baseline_{k}": None for k in SIDE})
            claim.update({f"condition_{k}": None for k in CONDITIONS})
            claims.append(claim)
    if not claims:
        why = (f"{unread} numeric cells but no metric or unit in the header, row labels or caption" if unread
               else "no cell holds a single figure")
        return [_failed(table, f"table {table['index']} on page {table['page']}: {why}")]
    return claims


def _unit_metric(unit: str) -> str | None:
    if unit == "tokens/s":
        return "token_throughput"
    if unit in ("ms", "\u00b5s", "s", "ns"):
        return "latency"
    if unit == "x":
        return "speedup"
    cats = {"images/s": "throughput", "queries/s": "throughput", "TB/s": "bandwidth", "GB/s": "bandwidth",
            "TFLOP/s": "compute", "W": "power", "GB": "memory", "J": "energy"}
    return cats.get(unit) or UNIT_METRIC.get(unit)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def pdf_table_claims(parser: SentenceParser, pdf_path: str | Path) -> list[dict]:
    """Claims of every table of one PDF, or one failed row when the PDF cannot be read."""
    try:
        tables = read_tables(pdf_path)
    except ValueError as exc:
        log.warning("tables of %s: %s", pdf_path, exc)
        return [_failed(None, f"{Path(pdf_path).name}: {exc}"[:500])]
    out = []
    for t in tables:
        out.extend(claims_of_table(parser, t))
    return out
