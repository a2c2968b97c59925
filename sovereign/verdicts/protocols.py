"""Which measurement protocol's rows check a claim: the one its paper states when rows of it exist.

Benchmark rows carry `protocol` (stable, deepgap, mlperf; rows from before the column
are stable). A claim's protocol comes from its own `protocol` field, else from its paper
(known protocol papers by arXiv id, or the protocol named in the sentence or title).
Rows of one protocol only are ever compared, so a point measured twice is not mixed.
"""
from __future__ import annotations

import copy
import json

import pandas as pd

DEFAULT = "stable"
# Papers that define a protocol: DEEP-GAP (20 warm-up, 100 timed, 3 repeats) and MLPerf Inference.
PROTOCOL_PAPERS = {"2604.14552": "deepgap", "1911.02549": "mlperf"}
# Words in a claim's sentence or paper title that name a protocol.
PROTOCOL_WORDS = (("deep-gap", "deepgap"), ("deepgap", "deepgap"), ("mlperf", "mlperf"))


def stated_protocol(claim: dict) -> str | None:
    """The protocol the claim's paper states, or None when it states none we know."""
    explicit = claim.get("protocol")
    if isinstance(explicit, str) and explicit.strip():
        return explicit.strip().lower()
    paper = str(claim.get("paper_id") or "").strip()
    base = paper.split("v")[0] if paper[:1].isdigit() else paper
    if base in PROTOCOL_PAPERS:
        return PROTOCOL_PAPERS[base]
    text = " ".join(str(claim.get(k) or "") for k in ("sentence", "paper_title")).lower()
    for word, protocol in PROTOCOL_WORDS:
        if word in text:
            return protocol
    return None


def choose_protocol(protocols: pd.Series, wanted: str | None) -> tuple[str | None, str]:
    """(protocol to use, the reason's note) given the rows' protocols and the one the paper states."""
    have = set(protocols.fillna(DEFAULT).astype(str).str.lower()) if len(protocols) else set()
    if not have:
        return None, ""
    if wanted and wanted in have:
        return wanted, f"protocol {wanted}, as the paper states"
    fallback = DEFAULT if DEFAULT in have else sorted(have)[0]
    if wanted:
        return fallback, f"protocol {fallback}: no {wanted} rows for the paper's protocol"
    return fallback, f"protocol {fallback}"


def bench_for_protocol(bench, claim: dict):
    """(a Bench restricted to one protocol's rows per suite, {suite: the note saying which}), for a claim.

    Each suite chooses on its own rows: a study whose evidence spans suites (the revision round reads them
    all) keeps the llm suite's generation rows beside the CNN suite's stable ones."""
    df = bench.df
    if "protocol" not in df.columns:
        df = df.assign(protocol=DEFAULT)
    if df.empty:
        return bench, {}
    suites = df["suite"].fillna("") if "suite" in df.columns else pd.Series("", index=df.index)
    protocols = df["protocol"].fillna(DEFAULT).astype(str).str.lower()
    keep, notes = pd.Series(False, index=df.index), {}
    for suite in sorted(set(suites)):
        mine = suites == suite
        chosen, note = choose_protocol(df.loc[mine, "protocol"], stated_protocol(claim))
        keep |= mine & (protocols == chosen)
        notes[suite] = note
    view = copy.copy(bench)  # same hardware table, fewer rows
    view.df = df[keep].reset_index(drop=True)
    return view, notes


def check_with_protocol(check, claim: dict, bench, *args) -> dict:
    """Run `check(claim, bench_view, *args)` on the chosen protocol's rows; the reason names the protocol of the
    suite whose rows decided."""
    view, notes = bench_for_protocol(bench, claim)
    res = check(claim, view, *args)
    rows = res.get("bench_rows")
    if rows not in (None, "[]") and notes:
        used = {str(r.get("key") if isinstance(r, dict) else r).split("/")[0]
                for r in (json.loads(rows) if isinstance(rows, str) else rows or [])}
        note = "; ".join(n for s, n in notes.items() if n and (s in used or len(notes) == 1))
        if note:
            res = {**res, "reason": f"{res['reason']} ({note})"}
    return res
