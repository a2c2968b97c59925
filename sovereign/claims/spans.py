"""Spans of a prepared sentence: batch sizes, conditions, clauses, qualifiers (helpers of parse.py)."""
from __future__ import annotations

from dataclasses import dataclass

from .llm_fields import llm_conditions
from .numbers import Quantity, to_float
from .patterns import (
    AFTER_QUAL, BATCH, BATCH_B, BEST_CASE, BETWEEN, CONTRAST, LAT_BOUND, MEASURED_PEAK, QUAL, SEG, SEQ_LEN,
)


@dataclass
class Batch:
    """A batch size (or range) named in the sentence, with its span."""
    low: float
    high: float
    start: int
    end: int

    def label(self) -> str:
        """'8' or '16-32'."""
        lo, hi = fmt(self.low), fmt(self.high)
        return lo if lo == hi else f"{lo}-{hi}"


def fmt(v: float) -> str:
    """8.0 -> '8', 0.5 -> '0.5'."""
    return str(int(v)) if float(v).is_integer() else str(v)


def batches(p: str) -> list[Batch]:
    """Batch sizes ('batch size 8', 'B=16-32', 'between batch sizes 64 and 128') in order."""
    out = []
    for rx in (BATCH, BATCH_B):
        for m in rx.finditer(p):
            a = to_float(m.group("a"))
            b = to_float(m.group("b")) if m.group("b") else a
            between = (m.groupdict().get("pre") or "").startswith("between") or BETWEEN.search(p[max(0, m.start() - 12):m.start()])
            if rx is BATCH and m.group("b") and " and " in m.group(0) and not between:
                b = a  # "batch 8 and 16 ..." lists, not ranges
            out.append(Batch(min(a, b), max(a, b), m.start(), m.end()))
    return sorted(out, key=lambda b: b.start)


def conditions(p: str) -> tuple[dict, list[tuple[int, int]]]:
    """Sentence-wide conditions (seq_len in tokens, latency_ms bound) and their spans, hidden from claims."""
    out, spans = llm_conditions(p)  # LLM serving: input/output lengths, concurrency, tokens/s scope
    low = p.lower()
    if "token" not in low and "length" not in low and "context" not in low:
        return _lat_bound(p, out, spans) if " ms" in low or " s " in low else (out, spans)
    for m in SEQ_LEN.finditer(p):
        n = next(g for g in ("n", "n2", "n3", "n4") if m.group(g))
        k = m.group({"n": "k", "n2": "k2", "n3": "k", "n4": "k4"}[n])
        out.setdefault("seq_len", fmt(to_float(m.group(n)) * (1000 if k else 1)))
        spans.append((m.start(), m.end()))
    return _lat_bound(p, out, spans)


def _lat_bound(p: str, out: dict, spans: list) -> tuple[dict, list[tuple[int, int]]]:
    for m in LAT_BOUND.finditer(p):
        if not (m.group("lw") or m.group("b")):
            continue  # "under 200 ms for X" is the claim itself, not a bound it holds under
        ms = to_float(m.group("n")) * (1000 if m.group("u").lower() == "s" else 1)
        out.setdefault("latency_ms", fmt(ms))
        spans.append((m.start(), m.end()))
    return out, spans


def segments(p: str) -> tuple[list[tuple[int, int]], set[int]]:
    """Clause bounds, and the clauses opened by a contrast (while, but, ...) that share no subject."""
    bounds, start, contrast = [], 0, set()
    for m in SEG.finditer(p):
        bounds.append((start, m.start()))
        if m.group(0).strip() not in ",;:" or CONTRAST.match(p, m.end()):
            contrast.add(len(bounds))
        start = m.end()
    bounds.append((start, len(p)))
    return bounds, contrast


def seg_of(segs, pos: int) -> int:
    """Index of the clause holding position `pos`."""
    for i, (s, e) in enumerate(segs):
        if s <= pos <= e:
            return i
    return len(segs) - 1


def in_parens(p: str, pos: int) -> bool:
    """Whether `pos` lies inside an open parenthesis."""
    return p.rfind("(", 0, pos) > p.rfind(")", 0, pos)


def qualifier(masked: str, q: Quantity, kind: str = "", clause_start: int = 0) -> str:
    """exact, up_to, at_least, at_most or approx, from the words around the number."""
    before = masked[max(0, q.start - 30):q.start]
    if BEST_CASE.search(before):
        return "up_to"
    for name, rx in QUAL:
        if rx.search(before):
            return name
    for name, rx in AFTER_QUAL:
        if rx.search(masked[q.end:q.end + 12]):
            return name
    if kind == "absolute" and MEASURED_PEAK.search(masked[clause_start:q.start]):
        return "up_to"  # "peak decode throughput is 2,600 tokens/s": the best measured case
    return "exact"


def nearest(mentions, pos: int):
    """The mention closest to `pos` (None when there is none)."""
    return min(mentions, key=lambda m: (min(abs(m.start - pos), abs(m.end - pos)), m.start)) if mentions else None
