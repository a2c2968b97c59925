"""search_arxiv: one query against the configured source (arxiv, snapshot, or auto).

Each search also writes a state file (`{qid}.live_state.json`) naming the source that answered,
whether `auto` fell back to the snapshot, and the `live_attempt` it ran with. The workflow reads
it to decide whether a search is finished (see `fallback.next_live_attempt`).
"""
from __future__ import annotations

import logging
import re

from ..errors import ArxivError, CorpusError
from ..io import write_jsonl
from .arxiv_source import ArxivSource
from .fallback import write_state
from .snapshot import FIELDS, load_corpus, search_snapshot

log = logging.getLogger(__name__)


def bare_id(paper_id: str) -> str:
    """An arXiv id without its version suffix (2604.14552v2 -> 2604.14552)."""
    return re.sub(r"v\d+$", "", paper_id.strip())


def _missing(wanted: list[str], records: list[dict], where: str, err):
    found = {bare_id(r["id"]) for r in records}
    missing = [i for i in wanted if bare_id(i) not in found]
    if missing:
        raise err(f"pinned paper{'s' if len(missing) > 1 else ''} {', '.join(missing)} not found {where}; "
                  "check the id under studies.<name>.papers")


def snapshot_by_id(path: str, ids: list[str]) -> list[dict]:
    """The corpus records of these arXiv ids, in the order given; a missing id is an error naming it."""
    by_id = {bare_id(r["id"]): r for r in load_corpus(path)}
    _missing(ids, list(by_id.values()), f"in the offline corpus {path}", CorpusError)
    out = []
    for i in ids:
        rec = {k: by_id[bare_id(i)].get(k) for k in FIELDS}
        rec.update(has_full_text=bool(by_id[bare_id(i)].get("full_text")), score=None)
        out.append(rec)
    return out


def fetch_by_id(query: dict, source: str, snapshot_path: str, arxiv_cfg: dict) -> tuple[list[dict], str, str]:
    """The pinned papers of a study (query["ids"]): by id from arXiv (their PDF then follows as for any
    live paper) or from the corpus, as `source` says."""
    ids = query["ids"]
    if source == "snapshot":
        return snapshot_by_id(snapshot_path, ids), "snapshot", ""
    try:
        records = ArxivSource(**arxiv_cfg).fetch_ids([bare_id(i) for i in ids])
        _missing(ids, records, f"on arXiv ({arxiv_cfg.get('base_url', 'the API')})", ArxivError)
        return records, "arxiv", ""
    except ArxivError as exc:
        if source == "arxiv" or "not found on arXiv" in str(exc):
            raise
        note = f"arXiv unavailable ({exc}); fell back to the offline snapshot {snapshot_path}"
        log.warning("WARNING: %s", note)
        return snapshot_by_id(snapshot_path, ids), "snapshot", note


def run_search(query: dict, source: str, snapshot_path: str, max_results: int, arxiv_cfg: dict) -> tuple[list[dict], str, str]:
    """Return (records, source_used, note) for one query (a pinned study's query fetches its ids)."""
    if query.get("ids"):
        return fetch_by_id(query, source, snapshot_path, arxiv_cfg)
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
