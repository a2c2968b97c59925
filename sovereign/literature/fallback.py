"""Whether an `auto` search that fell back to the snapshot must search live again (read at DAG build time).

Kept free of heavy imports: the workflow calls it while it parses the Snakefile.
"""
from __future__ import annotations

import json
from pathlib import Path


def marker_path(output: str) -> str:
    """The marker written beside a search output: results/s/search/q1.jsonl -> results/s/search/q1.source.json."""
    p = Path(output)
    return str(p.with_name(p.name.removesuffix(".jsonl") + ".source.json"))


def next_live_attempt(marker: str) -> tuple[int, bool]:
    """(the live_attempt an `auto` search should run with, whether its last run fell back).

    0 for a search that has not run; the recorded attempt for one that ran (so a finished
    search keeps its param value and is not rerun); the recorded attempt + 1 for one that
    fell back to the snapshot, so its param value changes and Snakemake reruns it.
    """
    try:
        state = json.loads(Path(marker).read_text(encoding="utf-8"))
        attempt, fell_back = int(state.get("live_attempt") or 0), bool(state.get("fallback"))
    except (OSError, ValueError, TypeError, AttributeError):
        return 0, False  # no marker (or an unreadable one): a new search
    return (attempt + 1, True) if fell_back else (attempt, False)
