"""Evidence a round considers: kept papers' text, and the revision round's re-grounding across all fetched papers."""
from __future__ import annotations

import logging
import numpy as np
import pandas as pd

from ..text import normalize, split_sentences, tfidf_matrix

log = logging.getLogger(__name__)


def paper_texts(papers: pd.DataFrame, fulltext: pd.DataFrame | None, kept_only: bool) -> dict[str, str]:
    """paper_id -> title, abstract and full text (when fetched)."""
    ft = {}
    if fulltext is not None and not fulltext.empty and "paper_id" in fulltext:
        col = next((c for c in ("text", "full_text", "fulltext") if c in fulltext.columns), None)
        if col:
            ft = {r["paper_id"]: r[col] for r in fulltext.to_dict("records") if isinstance(r.get(col), str)}
    out = {}
    for r in papers.to_dict("records"):
        if kept_only and not bool(r.get("kept")):
            continue
        parts = [str(x).strip() for x in (r.get("title"), r.get("abstract"), ft.get(r["paper_id"])) if x]
        # the title is a sentence of its own, never glued to the abstract's first one
        out[r["paper_id"]] = " ".join(p if p.endswith((".", "!", "?")) else p + "." for p in parts)
    return out


def sentences(texts: dict[str, str], max_per_paper: int = 400) -> pd.DataFrame:
    """One row per sentence: paper_id, sentence."""
    rows = []
    for pid, text in texts.items():
        for s in split_sentences(text)[:max_per_paper]:
            s = s.strip()
            if len(s) > 20:
                rows.append({"paper_id": pid, "sentence": s})
    return pd.DataFrame(rows, columns=["paper_id", "sentence"])


def _similarity(queries: list[str], docs: list[str], embed_cfg: dict, per_query: int = 8,
                per_doc_group: dict | None = None) -> tuple[np.ndarray, str]:
    """Cosine similarity (queries x docs). TF-IDF over every doc picks candidates (the best `per_query` per
    query, plus the question's best sentences of each paper); the configured embeddings re-score those.
    Docs that are not candidates keep their TF-IDF score scaled down, so they never outrank one."""
    from ..literature.embeddings import embed, method_name

    mat = tfidf_matrix([normalize(t) for t in queries + docs])
    tfidf = np.asarray((mat[: len(queries)] @ mat[len(queries):].T).todense())
    if embed_cfg.get("backend", "none") == "none" or not docs:
        return tfidf, "tfidf"
    cand = set()
    for row in tfidf:
        cand.update(np.argsort(-row)[:per_query].tolist())
    for idx in (per_doc_group or {}).values():
        idx = np.asarray(idx)
        cand.update(idx[np.argsort(-tfidf[0, idx])[:3]].tolist())
    cand = sorted(cand)
    emb = embed([normalize(t) for t in queries] + [normalize(docs[i]) for i in cand], embed_cfg)
    if emb is None:
        return tfidf, "tfidf"
    sim = tfidf * 0.1 - 1.0  # below any embedding cosine of a candidate
    sim[:, cand] = emb[: len(queries)] @ emb[len(queries):].T
    return sim, f"{method_name(embed_cfg)} (re-scoring TF-IDF candidates)"


def reground(question: str, claims: pd.DataFrame, papers: pd.DataFrame, fulltext: pd.DataFrame | None,
             embed_cfg: dict, corroboration_threshold: float, keep_threshold: float) -> dict:
    """Re-ground every claim and the question against every sentence of every fetched paper of the study."""
    sents = sentences(paper_texts(papers, fulltext, kept_only=False))
    claim_rows = claims[claims["sentence"].notna()].to_dict("records") if not claims.empty else []
    if sents.empty:
        return {"method": "none", "sentences": 0, "papers": 0, "corroboration": [], "recovered_papers": []}
    queries = [question] + [str(c["sentence"]) for c in claim_rows]
    pids = sents["paper_id"].to_numpy()
    groups = {pid: np.flatnonzero(pids == pid) for pid in pd.unique(pids)}
    sim, method = _similarity(queries, sents["sentence"].tolist(), embed_cfg, per_doc_group=groups)
    corroboration = []
    for i, c in enumerate(claim_rows, start=1):
        other = pids != c.get("paper_id")
        if not other.any():
            continue
        row = np.where(other, sim[i], -np.inf)
        j = int(np.argmax(row))
        corroboration.append({"claim_id": c["claim_id"], "paper_id": str(pids[j]), "sentence": sents["sentence"][j],
                              "similarity": round(float(row[j]), 4),
                              "independent": bool(row[j] >= corroboration_threshold)})
    # papers the screening dropped whose best sentence matches the question well enough
    kept = set(papers.loc[papers["kept"].astype(bool), "paper_id"]) if "kept" in papers else set()
    best_by_paper = pd.DataFrame({"paper_id": pids, "sim": sim[0]}).groupby("paper_id")["sim"].max()
    recovered = [{"paper_id": pid, "similarity": round(float(s), 4)} for pid, s in best_by_paper.items()
                 if pid not in kept and s >= keep_threshold]
    log.info("re-grounding (%s): %d sentences of %d papers, %d claims, %d corroborated, %d papers recovered", method,
             len(sents), sents["paper_id"].nunique(), len(claim_rows), sum(c["independent"] for c in corroboration),
             len(recovered))
    return {"method": method, "sentences": int(len(sents)), "papers": int(sents["paper_id"].nunique()),
            "corroboration": corroboration, "recovered_papers": sorted(recovered, key=lambda r: -r["similarity"])}
