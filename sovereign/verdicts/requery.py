"""requery_arxiv: the revision round's own searches, with queries refined from what the first pass lacked.

Two gaps make a refined query: terms of the question that no kept paper mentions (searched with the
question's main terms for context), and the configurations the claims are about (subject and
baseline device, model, method, the metric), most frequent first; a text equal to a planned query
is skipped. The queries run
through the same source as search_arxiv (live arXiv with its cache and politeness delay, or the
offline snapshot). The tribunal reads the records in its revision round; without one they are unused.
"""
from __future__ import annotations

import logging

import pandas as pd

from ..io import read_json, read_table, write_json, write_jsonl
from ..literature.fallback import write_state
from ..literature.queries import query_id
from ..literature.search import result_rows, run_search
from ..text import normalize
from .drift import check_drift, key_terms
from .evidence import paper_texts

log = logging.getLogger(__name__)

CLAIM_FIELDS = ("subject_device", "baseline_device", "subject_model", "subject_method", "baseline_method",
                "subject_precision", "metric")


def _claim_terms(claims: pd.DataFrame) -> list[str]:
    """One query text per distinct configuration the claims name, most frequent first."""
    if claims.empty:
        return []
    counts: dict[str, int] = {}
    for rec in claims.to_dict("records"):
        words = []
        for field in CLAIM_FIELDS:
            value = rec.get(field)
            word = value.strip().lower().replace("_", " ") if isinstance(value, str) else ""
            if word and word not in words:
                words.append(word)
        if len(words) >= 2:
            text = " ".join(words)
            counts[text] = counts.get(text, 0) + 1
    return [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def refine_queries(question: str, planned: list[str], kept_text: str, claims: pd.DataFrame,
                   max_queries: int) -> list[dict]:
    """Up to `max_queries` new queries [{query_id, text, origin}], none equal to a planned one. Deterministic."""
    if max_queries <= 0:
        return []
    names, content = key_terms(question)
    gaps = check_drift(question, {}, kept_text, 1.0)
    context = " ".join(content[:3])
    candidates = [("missing_term", f"{t} {context}") for t in gaps["missing_names"]]
    if gaps["missing_content"]:
        candidates.append(("missing_terms", " ".join(names[:3] + gaps["missing_content"][:4])))
    candidates += [("claim_configuration", t) for t in _claim_terms(claims)]
    seen = {normalize(p).lower() for p in planned}
    out = []
    for origin, text in candidates:
        text = normalize(text)
        if len(text.split()) < 2 or text.lower() in seen:
            continue
        seen.add(text.lower())
        out.append({"query_id": query_id(text), "text": text, "origin": origin})
        if len(out) == max_queries:
            break
    return out


def requery_arxiv(study: str, question: str, queries_path: str, papers_path: str, claims_path: str,
                  out_queries: str, out_records: str, source: str, snapshot_path: str | None, max_results: int,
                  arxiv_cfg: dict | None, max_queries: int, fulltext_path: str | None = None,
                  live_attempt: int | None = None) -> dict:
    """Stage entry: plan the refined queries, run them, write the queries (with counts) and the records.

    Like search_arxiv it records whether an `auto` search fell back and the `live_attempt` it ran with,
    which the workflow reads to search live again next run (literature.fallback)."""
    if live_attempt:
        log.info("%s: the refined searches last fell back to the offline snapshot; searching arXiv live again "
                 "(attempt %d)", study, live_attempt)
    planned = [q["text"] for q in read_json(queries_path)]
    papers, claims = read_table(papers_path), read_table(claims_path)
    fulltext = read_table(fulltext_path) if fulltext_path else None
    kept_text = " ".join(paper_texts(papers, fulltext, kept_only=True).values()) if not papers.empty else ""
    queries = refine_queries(question, planned, kept_text, claims, max_queries)
    known = set(papers["paper_id"]) if not papers.empty else set()
    rows = []
    for q in queries:
        records, used, note = run_search(q, source, snapshot_path, max_results, dict(arxiv_cfg or {}))
        q.update(source=used, source_note=note, records=len(records),
                 new_papers=sum(r["id"] not in known for r in records))
        rows += result_rows(study, q, records, used, note)
    write_jsonl(out_records, rows)
    summary = {"study": study, "queries": queries, "records": len(rows),
               "new_papers": len({r["id"] for r in rows} - known)}
    write_json(out_queries, summary)
    write_state(out_records, live_attempt, source == "auto" and any(q["source"] == "snapshot" for q in queries),
                study=study, queries=len(queries), records=len(rows))
    log.info("%s: %d refined queries, %d records, %d papers not seen before", study, len(queries), len(rows),
             summary["new_papers"])
    return summary
