"""search_arxiv: one query against the configured source (arxiv, snapshot, or auto).

Each search also writes a state file (`{qid}.live_state.json`) naming the source that answered,
whether `auto` fell back to the snapshot, and the `live_attempt` it ran with. The workflow reads
it to decide whether a search is finished (see `fallback.next_live_attempt`).
"""
from __future__ import annotations

import logging

from ..errors import ArxivError
from ..io import write_jsonl
from .arxiv_source import ArxivSource
from .fallback import write_state
from .snapshot import search_snapshot

log = logging.getLogger(__name__)


def run_search(query: dict, source: str, snapshot_path: str, max_results: int, arxiv_cfg: dict) -> tuple[list[dict], str, str]:
    """Return (records, source_used, note) for one query."""
    text = query["text"]
    if source == "snapshot":
        return search_snapshot(snapshot_path, text, max_results), "snapshot", ""
    live = ArxivSource(**arxiv_cfg)
    try:
        return live.search(text, max_results), "arxiv", ""
    except ArxivError as exc:
        if source == "arxiv":
            raise
        note = f"arXiv unavailable ({exc}); fell back to the offline snapshot {snapshot_path}"
        log.warning("WARNING: %s", note)
        return search_snapshot(snapshot_path, text, max_results), "snapshot", note


def text_origin(used: str) -> str:
    """What a search row's text is: `abstract` (the arXiv API's) or `snapshot` (an offline corpus record)."""
    return "snapshot" if used == "snapshot" else "abstract"


def result_rows(study: str, query: dict, records: list[dict], used: str, note: str) -> list[dict]:
    """One row per record as the search files hold them: the record, its query, its rank, the source used
    and the origin of its text."""
    rows = []
    for rank, rec in enumerate(records, 1):
        row = dict(rec)
        row.update(study=study, query_id=query["query_id"], query=query["text"], rank=rank,
                   source=used, source_note=note, text_origin=text_origin(used))
        row.setdefault("score", None)
        rows.append(row)
    return rows


def search_arxiv(study: str, query: dict, output: str, source: str, snapshot_path: str,
                 max_results: int, arxiv_cfg: dict, live_attempt: int | None = None) -> int:
    """Search one query and write its ranked records as JSON lines (and its marker); return the count."""
    if live_attempt:
        log.info("query %s last fell back to the offline snapshot; searching arXiv live again (attempt %d)",
                 query["query_id"], live_attempt)
    records, used, note = run_search(query, source, snapshot_path, max_results, arxiv_cfg)
    n = write_jsonl(output, result_rows(study, query, records, used, note))
    fell_back = source == "auto" and used == "snapshot"
    write_state(output, live_attempt, fell_back, study=study, query_id=query["query_id"], source=source,
                source_used=used, text_origin=text_origin(used), source_note=note, records=n)
    log.info("query %s (%r): %d records from %s", query["query_id"], query["text"], n, used)
    return n
