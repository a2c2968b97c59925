"""Evidence a round considers: kept papers' text, and the revision round's re-grounding across all fetched papers.

Corroboration is structural: sentence similarity only proposes candidate sentences of other papers; a
candidate corroborates a claim when a claim read from it names the same metric, unit, kind, subject and
baseline fields and its value agrees within the tolerance, and it conflicts when those match and the
values do not. Papers that share an author are never independent of each other."""
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


def structural_relation(claim: dict, candidates: list[dict], tol: float, authors: dict) -> list[dict]:
    """Claims read from candidate sentences that match `claim` field by field: relation, matched fields."""
    from ..claims.ground import relate_claims

    cols = ["claim_id", "paper_id", "kind", "metric", "unit", "qualifier", "value", "value_from", "value_to", "low",
            "high"] + [f"{s}_{k}" for s in ("subject", "baseline")
                       for k in ("device", "model", "backend", "precision", "method", "batch")]
    rows = [{c: claim.get(c) for c in cols}] + [{c: x.get(c) for c in cols} for x in candidates]
    rel = relate_claims(pd.DataFrame(rows, columns=cols), tol, authors).to_dict("records")[0]
    out = []
    for x in candidates:
        for relation, ids in (("corroborates", rel["agrees_with"]), ("conflicts", rel["conflicts_with"])):
            if x["claim_id"] in ids.split(","):
                out.append({**x, "relation": relation, "matched_fields": rel["matched_fields"]})
    return out


def reground(question: str, claims: pd.DataFrame, papers: pd.DataFrame, fulltext: pd.DataFrame | None,
             embed_cfg: dict, corroboration_threshold: float, keep_threshold: float, agree_tolerance: float = 0.15,
             vocab_path: str | None = None, candidates_per_claim: int = 5) -> dict:
    """Re-ground every claim and the question against every sentence of every fetched paper of the study.

    For each claim, the `candidates_per_claim` most similar sentences of other papers (at or above
    `corroboration_threshold`) are parsed into claims; only a field-by-field match counts (see the module)."""
    from ..claims.extract import parse_sentences

    sents = sentences(paper_texts(papers, fulltext, kept_only=False))
    claim_rows = claims[claims["sentence"].notna()].to_dict("records") if not claims.empty else []
    if sents.empty:
        return {"method": "none", "sentences": 0, "papers": 0, "corroboration": [], "recovered_papers": []}
    queries = [question] + [str(c["sentence"]) for c in claim_rows]
    pids = sents["paper_id"].to_numpy()
    groups = {pid: np.flatnonzero(pids == pid) for pid in pd.unique(pids)}
    sim, method = _similarity(queries, sents["sentence"].tolist(), embed_cfg, per_doc_group=groups)
    authors = dict(zip(papers["paper_id"].astype(str), papers["authors"])) if "authors" in papers else {}
    wanted = {}
    for i, c in enumerate(claim_rows, start=1):
        if c.get("kind") in (None, "not_empirical") or not c.get("metric"):
            continue
        row = np.where(pids != c.get("paper_id"), sim[i], -np.inf)
        top = [int(j) for j in np.argsort(-row)[:candidates_per_claim] if row[j] >= corroboration_threshold]
        if top:
            wanted[i] = top
    needed = sorted({j for top in wanted.values() for j in top})
    parsed = dict(zip(needed, parse_sentences([sents["sentence"][j] for j in needed], vocab_path))) if needed else {}
    corroboration = []
    for i, top in wanted.items():
        c = claim_rows[i - 1]
        cands = [{**x, "claim_id": f"s{j}.{k}", "paper_id": str(pids[j]), "sentence": sents["sentence"][j],
                  "similarity": round(float(sim[i][j]), 4)} for j in top for k, x in enumerate(parsed.get(j, []))]
        for m in structural_relation(c, cands, agree_tolerance, authors):
            corroboration.append({"claim_id": c["claim_id"], "paper_id": m["paper_id"], "sentence": m["sentence"],
                                  "similarity": m["similarity"], "relation": m["relation"],
                                  "matched_fields": m["matched_fields"],
                                  # relate_claims pairs no papers that share an author
                                  "independent": m["relation"] == "corroborates"})
    # papers the screening dropped whose best sentence matches the question well enough
    kept = set(papers.loc[papers["kept"].astype(bool), "paper_id"]) if "kept" in papers else set()
    best_by_paper = pd.DataFrame({"paper_id": pids, "sim": sim[0]}).groupby("paper_id")["sim"].max()
    recovered = [{"paper_id": pid, "similarity": round(float(s), 4)} for pid, s in best_by_paper.items()
                 if pid not in kept and s >= keep_threshold]
    log.info("re-grounding (%s): %d sentences of %d papers, %d claims, %d corroborated and %d contradicted field by "
             "field, %d papers recovered", method, len(sents), sents["paper_id"].nunique(), len(claim_rows),
             sum(c["independent"] for c in corroboration), sum(c["relation"] == "conflicts" for c in corroboration),
             len(recovered))
    return {"method": method, "sentences": int(len(sents)), "papers": int(sents["paper_id"].nunique()),
            "corroboration": corroboration, "recovered_papers": sorted(recovered, key=lambda r: -r["similarity"])}
