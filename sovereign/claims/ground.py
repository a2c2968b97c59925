"""ground_claims: check each claim against its own paper's text, and against other papers' claims.

Per claim: TF-IDF (uni+bigram) cosine with the best sentence of its paper (abstract + full
text), the embedding cosine with the best sentence when embeddings are on, whether every
number of the claim appears in that paper, and the evidence sentence. Across the papers of
the study: claims on the same subject, baseline and metric that agree or conflict.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..io import write_parquet
from ..literature.embeddings import embed, method_name
from ..text import split_sentences, tfidf_matrix
from .errors import ClaimsInputError
from .extract import ClaimsConfig
from .numbers import KILO, NUM, prepare

log = logging.getLogger(__name__)

SUPPORT_COLUMNS = ["study", "claim_id", "text_support", "numbers_grounded", "evidence", "method", "paper_id",
                   "evidence_source", "evidence_index", "embedding_support", "supported", "numbers_in_evidence",
                   "missing_numbers", "agrees_with", "conflicts_with", "n_agree", "n_conflict"]
_ANY_NUMBER = re.compile(NUM)
_SIDES = [f"{s}_{k}" for s in ("subject", "baseline") for k in ("device", "model", "backend", "precision", "method", "batch")]


def number_set(text: str) -> set[float]:
    """Every number written in a text, as floats rounded to 6 decimals ('38,932' -> 38932.0; '3.2k' also 3200)."""
    text = prepare(text or "")
    out = set()
    for m in _ANY_NUMBER.finditer(text):
        v = float(m.group(0).replace(",", ""))
        out.add(round(v, 6))
        if KILO.match(text, m.end()):
            out.add(round(v * 1000, 6))
    return out


def claim_numbers(numbers: str | None) -> list[float]:
    """The numbers a claim row was read from (its `numbers` column), as floats."""
    return [round(abs(float(x)), 6) for x in str(numbers or "").split(",") if x.strip()]


def source_sentences(papers: pd.DataFrame, fulltext: pd.DataFrame | None) -> dict[str, list[tuple[str, int, str]]]:
    """paper_id -> [(source, index, sentence)] from the abstract and, where there is one, the full text."""
    full = {}
    if fulltext is not None and not fulltext.empty:
        ok = fulltext[fulltext["status"] == "ok"]
        full = dict(zip(ok["paper_id"].astype(str), ok["text"].fillna("")))
    out = {}
    for pid, abstract in zip(papers["paper_id"].astype(str), papers["abstract"].fillna("")):
        seen, rows = set(), []
        for source, text in (("abstract", abstract), ("full_text", full.get(pid, ""))):
            for i, s in enumerate(split_sentences(text)):
                if s not in seen:
                    seen.add(s)
                    rows.append((source, i, s))
        out[pid] = rows
    return out


def intervals(claims: pd.DataFrame, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """The values each claim allows, widened by the tolerance (NaN where it states no number).

    A change from a to b is the ratio b/a; up_to / at_most open the interval downwards,
    at_least upwards; "about" values get twice the tolerance.
    """
    num = lambda c: pd.to_numeric(claims[c], errors="coerce").to_numpy(dtype=float)  # noqa: E731
    value, v_from, v_to, low, high = (num(c) for c in ("value", "value_from", "value_to", "low", "high"))
    qual = claims["qualifier"].astype(object).fillna("").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        change = (claims["kind"].to_numpy() == "change") & np.isfinite(v_from) & np.isfinite(v_to) & (v_from != 0)
        ratio = np.where(change, v_to / np.where(v_from == 0, 1, v_from), np.nan)
    ranged = ~change & np.isfinite(low) & np.isfinite(high)
    lo = np.where(change, ratio, np.where(ranged, low, value))
    hi = np.where(change, ratio, np.where(ranged, high, value))
    single = ~change & ~ranged
    down = single & np.isin(qual, ["up_to", "at_most"])
    lo = np.where(down, np.where(hi < 0, -np.inf, 0.0), lo)
    hi = np.where(single & (qual == "at_least"), np.inf, hi)
    w = tol * np.where(qual == "approx", 2.0, 1.0)
    with np.errstate(invalid="ignore"):
        lo = np.where(np.isfinite(lo), lo - np.abs(lo) * w, lo)
        hi = np.where(np.isfinite(hi), hi + np.abs(hi) * w, hi)
    return lo, hi


def relate_claims(claims: pd.DataFrame, tol: float) -> pd.DataFrame:
    """Per claim: claims of other papers on the same subject, baseline, metric and unit that agree / conflict."""
    df = claims.reset_index(drop=True)
    n = len(df)
    agrees, conflicts = [""] * n, [""] * n
    n_agree, n_conflict = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    if n:
        lo, hi = intervals(df, tol)
        named = df[["subject_device", "subject_model", "subject_method"]].notna().any(axis=1).to_numpy()
        usable = named & df["metric"].notna().to_numpy() & (df["kind"] != "not_empirical").to_numpy() & ~np.isnan(lo)
        ids = df["claim_id"].astype(str).to_numpy()
        pids = df["paper_id"].astype(str).to_numpy()
        keys = df[["metric", "unit", "kind"] + _SIDES].astype(object).fillna("").astype(str).agg("\x1f".join, axis=1)
        groups = pd.Series(np.arange(n))[usable].groupby(keys[usable].to_numpy(), sort=True).indices
        for members in groups.values():
            idx = np.flatnonzero(usable)[members]
            if len(idx) < 2 or len(set(pids[idx])) < 2:
                continue
            order = idx[np.argsort(ids[idx], kind="stable")]
            a_lo, a_hi, a_pid = lo[order], hi[order], pids[order]
            overlap = (a_lo[:, None] <= a_hi[None, :]) & (a_lo[None, :] <= a_hi[:, None])
            other = a_pid[:, None] != a_pid[None, :]
            for k, row in enumerate(order):
                ok, bad = other[k] & overlap[k], other[k] & ~overlap[k]
                agrees[row], conflicts[row] = ",".join(ids[order[ok]]), ",".join(ids[order[bad]])
                n_agree[row], n_conflict[row] = int(ok.sum()), int(bad.sum())
    return pd.DataFrame({"claim_id": df["claim_id"] if n else pd.Series(dtype=object), "agrees_with": agrees,
                         "conflicts_with": conflicts, "n_agree": n_agree, "n_conflict": n_conflict})


def _best_embedding(claims, sources, order, embed_cfg) -> np.ndarray:
    """Embedding cosine of each claim sentence with the best sentence of its own paper."""
    pids = [p for p in order if sources.get(p)]
    sents = [s for p in pids for _, _, s in sources[p]]
    texts = sorted(set(claims["sentence"].astype(str)) | set(sents))
    vecs = embed(texts, embed_cfg, progress=len(texts) > 500)
    row = {t: i for i, t in enumerate(texts)}
    best = np.full(len(claims), np.nan)
    for pid, grp in claims.groupby("paper_id", sort=True):
        if not sources.get(pid):
            continue
        S = vecs[[row[s] for _, _, s in sources[pid]]]
        C = vecs[[row[s] for s in grp["sentence"].astype(str)]]
        best[grp.index.to_numpy()] = (C @ S.T).max(axis=1)
    return best


def ground_frame(study: str, claims: pd.DataFrame, sources: dict, cfg: ClaimsConfig,
                 embed_cfg: dict | None = None, progress: bool = True) -> pd.DataFrame:
    """The claim_support table for `claims` given each paper's source sentences."""
    claims = claims.reset_index(drop=True)
    if claims.empty:
        return pd.DataFrame(columns=SUPPORT_COLUMNS)
    order = sorted({str(p) for p in claims["paper_id"]})
    flat, offset = [], {}
    for pid in order:
        offset[pid] = (len(flat), len(flat) + len(sources.get(pid, [])))
        flat.extend(s for _, _, s in sources.get(pid, []))
    # one process: starting workers costs more than hashing short sentences saves (measured, bench_claims.py)
    mat = tfidf_matrix(flat + claims["sentence"].astype(str).tolist(), parallel_above=10 ** 7)
    n = len(flat)
    support = np.zeros(len(claims))
    best = np.full(len(claims), -1)
    groups = claims.groupby(claims["paper_id"].astype(str), sort=True).indices
    for pid, rows in tqdm(groups.items(), desc=f"grounding {study}", unit="paper", disable=not progress or len(groups) < 50):
        a, b = offset[pid]
        if b == a:
            continue
        sims = (mat[n + rows] @ mat[a:b].T).toarray()
        best[rows] = a + sims.argmax(axis=1)
        support[rows] = sims.max(axis=1)
    nums = {pid: number_set(" ".join(flat[offset[pid][0]:offset[pid][1]])) for pid in order}
    use_emb = cfg.use_embeddings and (embed_cfg or {}).get("backend", "none") != "none"
    emb = _best_embedding(claims, sources, order, embed_cfg) if use_emb else np.full(len(claims), np.nan)
    method = "tfidf" + (f"+{method_name(embed_cfg)}" if use_emb else "")
    where = {pid: sources.get(pid, []) for pid in order}
    rows = []
    for i, c in enumerate(claims.to_dict("records")):
        pid = str(c["paper_id"])
        wanted = claim_numbers(c.get("numbers"))
        missing = [x for x in wanted if x not in nums[pid]]
        ev_src, ev_idx, evidence = ("", -1, "")
        if best[i] >= 0:
            ev_src, ev_idx, evidence = where[pid][best[i] - offset[pid][0]]
        in_ev = number_set(evidence)
        rows.append({"study": study, "claim_id": c["claim_id"], "text_support": round(float(support[i]), 6),
                     "numbers_grounded": not missing and bool(where[pid]), "evidence": evidence, "method": method,
                     "paper_id": pid, "evidence_source": ev_src, "evidence_index": int(ev_idx),
                     "embedding_support": round(float(emb[i]), 6) if np.isfinite(emb[i]) else np.nan,
                     "supported": bool(support[i] >= cfg.min_support),
                     "numbers_in_evidence": all(x in in_ev for x in wanted) and bool(evidence),
                     "missing_numbers": ",".join(f"{x:g}" for x in missing)})
    df = pd.DataFrame(rows)
    rel = relate_claims(claims, cfg.agree_tolerance)  # row-aligned with claims
    for col in ("agrees_with", "conflicts_with", "n_agree", "n_conflict"):
        df[col] = rel[col].to_numpy()
    return df[SUPPORT_COLUMNS]


def ground_claims(study: str, claims_path: str, papers_path: str, fulltext_path: str | None, output: str,
                  cfg: dict, embed_cfg: dict | None = None) -> pd.DataFrame:
    """Write results/{study}/claim_support.parquet."""
    conf = ClaimsConfig.from_dict(cfg)
    try:
        claims = pd.read_parquet(claims_path)
        papers = pd.read_parquet(papers_path)
        fulltext = pd.read_parquet(fulltext_path) if fulltext_path and Path(fulltext_path).exists() else None
    except (OSError, ValueError) as exc:
        raise ClaimsInputError(f"cannot read grounding inputs: {exc}") from exc
    missing = [c for c in ("claim_id", "paper_id", "sentence", "numbers") if c not in claims.columns]
    if missing:
        raise ClaimsInputError(f"{claims_path} lacks columns {missing}; rerun extract_claims")
    df = ground_frame(study, claims, source_sentences(papers, fulltext), conf, embed_cfg)
    write_parquet(output, df)
    if not df.empty:
        log.info("%s: %d claims, %d supported (tf-idf >= %.2f), %d with every number in the source, "
                 "%d agreeing and %d conflicting pairs", study, len(df), int(df["supported"].sum()), conf.min_support,
                 int(df["numbers_grounded"].sum()), int(df["n_agree"].sum()) // 2, int(df["n_conflict"].sum()) // 2)
    return df
