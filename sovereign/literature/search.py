"""search_arxiv: one query against the configured source (arxiv, snapshot, or auto)."""
from __future__ import annotations

import logging

from ..errors import ArxivError
from ..io import write_jsonl
from .arxiv_source import ArxivSource
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


def result_rows(study: str, query: dict, records: list[dict], used: str, note: str) -> list[dict]:
    """One row per record as the search files hold them: the record, its query, its rank and the source used."""
    rows = []
    for rank, rec in enumerate(records, 1):
        row = dict(rec)
        row.update(study=study, query_id=query["query_id"], query=query["text"], rank=rank,
                   source=used, source_note=note)
        row.setdefault("score", None)
        rows.append(row)
    return rows


def search_arxiv(study: str, query: dict, output: str, source: str, snapshot_path: str,
                 max_results: int, arxiv_cfg: dict) -> int:
    """Search one query and write its ranked records as JSON lines; return the count."""
    records, used, note = run_search(query, source, snapshot_path, max_results, arxiv_cfg)
    n = write_jsonl(output, result_rows(study, query, records, used, note))
    log.info("query %s (%r): %d records from %s", query["query_id"], query["text"], n, used)
    return n
