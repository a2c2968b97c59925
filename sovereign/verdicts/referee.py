"""What a referee checks before a measurement decides a claim: confirmed repeats, protocols that agree,
and the CPU threads the rows ran on."""
from __future__ import annotations

import json
import re

import pandas as pd

from .match import Bench

# "on 2 cores", "64-core", "16 threads", "8 vCPUs": a claim about that many cores
CORES = re.compile(r"\b(\d{1,4})[\s-]*(?:physical\s+)?(?:cores?|threads?|vcpus?)\b", re.I)
DECIDED = ("REPRODUCED", "NOT_REPRODUCED")


def used_rows(bench: Bench, res: dict) -> pd.DataFrame:
    """The benchmark rows a check used (every protocol's row of each used point)."""
    keys = {e["key"] if isinstance(e, dict) else e for e in json.loads(res.get("bench_rows") or "[]")}
    return bench.df[bench.df["_key"].isin(keys)]


def claimed_cores(claim: dict) -> int | None:
    """The core or thread count a claim's sentence states, or None (a claim about the whole CPU)."""
    m = CORES.search(str(claim.get("sentence") or ""))
    return int(m.group(1)) if m else None


def _protocol_conflict(rows: pd.DataFrame, tol: float) -> str:
    worst = rows[rows["_protocol_spread"] > tol]
    if worst.empty:
        return ""
    key = worst.loc[worst["_protocol_spread"].idxmax(), "_key"]
    point = rows[(rows["_key"] == key) & rows["_ok"]]
    values = ", ".join(f"{p or 'stable'} {v:,.4g}" for p, v in
                       zip(point.get("protocol", pd.Series(["stable"] * len(point), index=point.index)),
                           point["throughput_ips"]))
    spread = float(worst["_protocol_spread"].max())
    return (f"the point decides nothing: its protocols disagree at {key} ({values} items/s, {spread:.0%} apart, "
            f"beyond the {tol:.0%} tolerance); ")


def _threads(claim: dict, rows: pd.DataFrame) -> str:
    """'' when the rows ran on the cores the claim is about (or are no CPU rows with a thread record); else why not."""
    if "threads_used" not in rows.columns:
        return ""
    cpu = rows[rows["_cpu"] & rows["threads_used"].notna()]
    if cpu.empty:
        return ""
    used = int(cpu["threads_used"].min())
    present = cpu["cores_present"] if "cores_present" in cpu.columns else cpu.get("hardware_cores")
    cores = int(present.max()) if present is not None and present.notna().any() else None
    want = claimed_cores(claim)
    whole = want if want is not None else cores
    if whole is None or used == whole:
        return ""
    about = f"{want} cores" if want is not None else "the whole CPU"
    return (f"; match: class: measured on {used} of {cores if cores else '?'} cores (threads used), the claim is about "
            f"{about}: a run on other threads than the claim's does not contradict it")


def referee_notes(claim: dict, res: dict, bench: Bench, tol: float, contradicted: bool) -> dict:
    """The check's status, contradiction, match override and reason additions after the referee's checks."""
    status, note, match = res["status"], "", None
    if status not in DECIDED:
        return {"status": status, "contradicted": False, "prefix": "", "note": "", "match": None}
    rows = used_rows(bench, res)
    conflict = _protocol_conflict(rows, tol) if not rows.empty else ""
    if conflict:
        return {"status": "UNTESTABLE", "contradicted": False, "prefix": conflict, "note": "", "match": None}
    threads = _threads(claim, rows)
    if threads:
        match, note = "class", threads
        contradicted = False
    weak = rows[~rows["_confirmed"]]
    if not weak.empty:
        r = weak.iloc[0]
        what = f"unconfirmed measurement ({r['_key']}: {r['_confirm_note'] or 'repeats did not confirm it'})"
        # an unconfirmed row may fail to reproduce a claim; it never contradicts one
        note += f"; not counted as a contradiction: {what}" if contradicted else f"; {what}"
        contradicted = False
    return {"status": status, "contradicted": contradicted, "prefix": "", "note": note, "match": match}
