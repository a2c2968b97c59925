"""Whether an `auto` search that fell back to the snapshot must search live again (read at DAG build time).

A search writes a state file beside its output (`q1.jsonl` -> `q1.live_state.json`) recording the
`live_attempt` it ran with and whether it fell back. The file is deliberately not a declared output:
Snakemake deletes a job's outputs before the job runs and evaluates its params again then, so a
declared marker would be gone and the job would record a different attempt than the one that
decided to rerun it. Kept free of heavy imports: the workflow calls it while it parses the Snakefile.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..io import write_json


def state_path(output: str) -> str:
    """The state file of a search output: results/s/search/q1.jsonl -> results/s/search/q1.live_state.json."""
    p = Path(output)
    return str(p.with_name(p.name.removesuffix(".jsonl") + ".live_state.json"))


def next_live_attempt(output: str) -> tuple[int, bool]:
    """(the live_attempt an `auto` search of `output` should run with, whether its last run fell back).

    0 for a search that has not run; the recorded attempt for one that ran live (so a finished
    search keeps its param value and is not rerun); the recorded attempt + 1 for one that
    fell back to the snapshot, so its param value changes and Snakemake reruns it.
    """
    try:
        state = json.loads(Path(state_path(output)).read_text(encoding="utf-8"))
        attempt, fell_back = int(state.get("live_attempt") or 0), bool(state.get("fallback"))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0, False  # no state (or an unreadable one): a new search
    return (attempt + 1, True) if fell_back else (attempt, False)


def write_state(output: str, live_attempt: int | None, fell_back: bool, **info) -> None:
    """Record the attempt a search ran with and whether it fell back (read by next_live_attempt)."""
    write_json(state_path(output), {"live_attempt": int(live_attempt or 0), "fallback": bool(fell_back), **info})
