"""screen_papers: merge search results, score each paper against the question, mark kept/drift."""
from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from ..io import read_jsonl, write_json, write_parquet
from ..text import normalize, tfidf_matrix
from .embeddings import embed, method_name
from .queries import question_entities

log = logging.getLogger(__name__)

PAPER_COLUMNS = ["study", "paper_id", "title", "authors", "published", "categories", "abstract",
                 "pdf_url", "has_full_text", "source", "text_origin", "query_ids", "best_rank", "relevance_tfidf",
                 "relevance_embedding", "kept", "drift"]


def merge_results(study: str, paths: list[str]) -> pd.DataFrame:
    """Merge per-query results, one row per paper: best rank, every query that found it.

    A paper that a live search and a snapshot fallback both found keeps the live record (its
    abstract is arXiv's and it has a PDF link)."""
    by_id: dict[str, dict] = {}
    for path in paths:
        for rec in read_jsonl(path):
            pid = rec["id"]
            live = rec.get("source", "") != "snapshot"
            if pid not in by_id or (live and by_id[pid]["source"] == "snapshot"):
                old = by_id.get(pid, {})
                by_id[pid] = {
                    "study": study, "paper_id": pid, "title": rec.get("title") or "",
                    "authors": list(rec.get("authors") or []), "published": rec.get("published") or "",
                    "categories": list(rec.get("categories") or []), "abstract": rec.get("abstract") or "",
                    "pdf_url": rec.get("pdf_url") or "", "has_full_text": bool(rec.get("has_full_text")),
                    "source": rec.get("source", ""),
                    "text_origin": rec.get("text_origin") or ("snapshot" if not live else "abstract"),
                    "query_ids": old.get("query_ids", []), "best_rank": old.get("best_rank", rec.get("rank", 0)),
                }
            row = by_id[pid]
            if rec["query_id"] not in row["query_ids"]:
                row["query_ids"].append(rec["query_id"])
            row["best_rank"] = min(row["best_rank"], rec.get("rank", row["best_rank"]))
    rows = sorted(by_id.values(), key=lambda r: r["paper_id"])
    for r in rows:
        r["query_ids"] = sorted(r["query_ids"])
    return pd.DataFrame(rows, columns=PAPER_COLUMNS[:13])


def score_papers(question: str, df: pd.DataFrame, embed_cfg: dict) -> tuple[np.ndarray, np.ndarray | None]:
    """TF-IDF (uni+bigram) cosine and embedding cosine of each paper with the question."""
    if df.empty:
        return np.zeros(0), None
    docs = [normalize(f"{t}. {a}") for t, a in zip(df["title"], df["abstract"])]
    mat = tfidf_matrix([normalize(question)] + docs)
    tfidf = np.asarray((mat[1:] @ mat[0].T).todense()).ravel()
    emb = embed([normalize(question)] + docs, embed_cfg, progress=len(docs) > 200)
    emb_scores = None if emb is None else emb[1:] @ emb[0]
    return tfidf, emb_scores


def entity_coverage(question: str, kept: pd.DataFrame) -> tuple[float | None, list[str]]:
    """Share of the question's named things (methods, devices, datasets) that kept papers mention."""
    names = question_entities(question)
    if not names:
        return None, []
    text = " ".join(f"{t} {a}" for t, a in zip(kept["title"], kept["abstract"])).lower()
    missing = [n for n in names if n.lower() not in text]
    return round(1 - len(missing) / len(names), 4), missing


def screen_papers(study: str, question: str, search_paths: list[str], out_papers: str, out_summary: str,
                  thresholds: dict, embed_cfg: dict, pinned: list[str] | None = None) -> dict:
    """Write the screened papers table and a study summary (with the study-level drift flag).

    `pinned`: the arXiv ids a study is pinned to; those papers are kept whatever their scores."""
    df = merge_results(study, search_paths)
    tfidf, emb = score_papers(question, df, embed_cfg)
    df["relevance_tfidf"] = np.round(tfidf, 6)
    df["relevance_embedding"] = np.round(emb, 6) if emb is not None else np.nan
    kept = tfidf >= thresholds["tfidf_threshold"]
    off = tfidf < thresholds["drift_tfidf"]
    if emb is not None:
        kept |= emb >= thresholds["embedding_threshold"]
        off &= emb < thresholds["drift_embedding"]
    if pinned:
        ids = {re.sub(r"v\d+$", "", p) for p in pinned}
        kept = df["paper_id"].astype(str).isin(ids).to_numpy()
        off = np.zeros(len(df), dtype=bool)
    df["kept"] = kept
    # drift: retrieved by a query, yet about something else than the question; a paper whose
    # title names something the question names (a dataset, a method) is never called off-topic
    names = [n.lower() for n in question_entities(question)]
    names_it = np.array([any(n in str(t).lower() for n in names) for t in df["title"]], dtype=bool)
    df["drift"] = (~kept) & off & ~names_it
    df = df[PAPER_COLUMNS]
    write_parquet(out_papers, df)

    order = "relevance_embedding" if emb is not None else "relevance_tfidf"
    best = df.sort_values([order, "paper_id"], ascending=[False, True]).head(5)
    n_kept = int(df["kept"].sum())
    coverage, missing = entity_coverage(question, df[df["kept"]])
    if n_kept == 0:
        study_drift, reason = True, "topic drift: no retrieved paper passes the relevance thresholds"
    elif pinned:
        study_drift, reason = False, ""  # the user named the papers: they are the topic
    elif coverage == 0.0:
        study_drift = True
        reason = (f"topic drift: no kept paper mentions what the question names ({', '.join(missing)}); "
                  "the evidence is about something else")
    else:
        study_drift, reason = False, ""
    summary = {
        "study": study, "question": question, "retrieved": int(len(df)), "kept": n_kept,
        "drift_papers": int(df["drift"].sum()), "study_drift": study_drift, "drift_reason": reason,
        "entity_coverage": coverage, "entities_missing": missing,
        "embedding_method": method_name(embed_cfg), "thresholds": thresholds,
        "best": [{"paper_id": r.paper_id, "title": r.title, "relevance_tfidf": float(r.relevance_tfidf),
                  "relevance_embedding": None if pd.isna(r.relevance_embedding) else float(r.relevance_embedding)}
                 for r in best.itertuples()],
    }
    write_json(out_summary, summary)
    log.info("%s: %d retrieved, %d kept, %d drift%s", study, len(df), n_kept, int(df["drift"].sum()),
             " (study drift: " + reason + ")" if study_drift else "")
    return summary
