"""ground_claims: check each claim against its own paper's text, and against other papers' claims.

A claim whose sentence is a verbatim span of its paper (every rule or table extraction) is not
evidence for itself: its row says method `self`, carries no text support, and only records an
extraction check: its numbers appear in its sentence with the claimed unit, and where each subject
field is named (the sentence, the paper's title, or nowhere). A claim that is *not* a span (an LLM
extraction, a claim typed by a user, a draft's statement) is searched in its cited paper: TF-IDF
(uni+bigram) cosine with the best sentence (abstract + full text), the embedding cosine when
embeddings are on, and whether every number appears in that paper; it can fail.
Across the papers of the study: claims on the same subject, baseline and metric that agree or
conflict, from papers with no author in common.
"""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..io import write_parquet
from ..literature.embeddings import embed, method_name
from ..text import normalize, split_sentences, tfidf_matrix
from .errors import ClaimsInputError
from .extract import ClaimsConfig
from .numbers import KILO, NUM, prepare, scan
from .vocab import FIELD, load_vocab

log = logging.getLogger(__name__)

SUPPORT_COLUMNS = ["study", "claim_id", "text_support", "numbers_grounded", "evidence", "method", "paper_id",
                   "evidence_source", "evidence_index", "embedding_support", "supported", "numbers_in_evidence",
                   "missing_numbers", "verbatim", "unit_in_sentence", "subject_named_in", "extraction_ok",
                   "agrees_with", "conflicts_with", "n_agree", "n_conflict", "matched_fields"]
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


def author_set(authors) -> frozenset:
    """A paper's authors as a set of case-folded names (a list, an array or a comma-separated string)."""
    if authors is None or (isinstance(authors, float) and np.isnan(authors)):
        return frozenset()
    items = authors.split(",") if isinstance(authors, str) else list(authors)
    return frozenset(" ".join(str(a).split()).casefold() for a in items if str(a).strip())


def relate_claims(claims: pd.DataFrame, tol: float, authors: dict | None = None) -> pd.DataFrame:
    """Per claim: claims of other papers (no author in common) on the same metric, unit, kind, subject and
    baseline fields that agree (values within `tol`) or conflict; `matched_fields` names the fields compared."""
    df = claims.reset_index(drop=True)
    missing = [c for c in ["metric", "unit", "kind", "qualifier", "value", "value_from", "value_to", "low", "high"] + _SIDES
               if c not in df.columns]
    if missing:  # older or hand-made tables: an absent field is an empty one
        df = df.assign(**{c: None for c in missing})
    n = len(df)
    agrees, conflicts, matched = [""] * n, [""] * n, [""] * n
    n_agree, n_conflict = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    people = {str(k): author_set(v) for k, v in (authors or {}).items()}
    if n:
        lo, hi = intervals(df, tol)
        named = df[["subject_device", "subject_model", "subject_method"]].notna().any(axis=1).to_numpy()
        usable = named & df["metric"].notna().to_numpy() & (df["kind"] != "not_empirical").to_numpy() & ~np.isnan(lo)
        ids = df["claim_id"].astype(str).to_numpy()
        pids = df["paper_id"].astype(str).to_numpy()
        fields = ["metric", "unit", "kind"] + _SIDES
        vals = df[fields].astype(object).where(df[fields].notna(), "").astype(str)
        keys = vals.agg("\x1f".join, axis=1)
        groups = pd.Series(np.arange(n))[usable].groupby(keys[usable].to_numpy(), sort=True).indices
        for members in groups.values():
            idx = np.flatnonzero(usable)[members]
            if len(idx) < 2 or len(set(pids[idx])) < 2:
                continue
            order = idx[np.argsort(ids[idx], kind="stable")]
            a_lo, a_hi, a_pid = lo[order], hi[order], pids[order]
            overlap = (a_lo[:, None] <= a_hi[None, :]) & (a_lo[None, :] <= a_hi[:, None])
            shared = np.array([[bool(people.get(p, frozenset()) & people.get(q, frozenset())) for q in a_pid]
                               for p in a_pid])
            other = (a_pid[:, None] != a_pid[None, :]) & ~shared
            names = ",".join(f"{f}={v}" for f, v in zip(fields, vals.iloc[order[0]]) if v)
            for k, row in enumerate(order):
                ok, bad = other[k] & overlap[k], other[k] & ~overlap[k]
                agrees[row], conflicts[row] = ",".join(ids[order[ok]]), ",".join(ids[order[bad]])
                n_agree[row], n_conflict[row] = int(ok.sum()), int(bad.sum())
                matched[row] = names if ok.any() or bad.any() else ""
    return pd.DataFrame({"claim_id": df["claim_id"] if n else pd.Series(dtype=object), "agrees_with": agrees,
                         "conflicts_with": conflicts, "n_agree": n_agree, "n_conflict": n_conflict,
                         "matched_fields": matched})


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


def _index(value) -> int:
    return int(value) if value is not None and pd.notna(value) else -1


def _squash(text: str) -> str:
    """Text compared for verbatim spans: normalised, whitespace collapsed, case folded."""
    return normalize(text or "").casefold()


def _numbers_with_unit(sentence: str, wanted: list[float], unit) -> tuple[list[float], bool]:
    """The claim's numbers missing from its own sentence, and whether the sentence gives them the claimed unit."""
    quantities = scan(prepare(normalize(sentence or "")))
    written = number_set(sentence)
    missing = [x for x in wanted if x not in written]
    if not unit or not isinstance(unit, str):
        return missing, True
    units = {q.unit for q in quantities if q.unit}
    return missing, unit in units


def _named_in(claim: dict, sentence: str, title: str, vocab) -> dict:
    """Where each subject field of a claim is named: 'sentence', 'title' or 'none'."""
    in_sentence = {(m.category, m.name) for m in vocab.mentions(prepare(normalize(sentence or "")))}
    in_title = {(m.category, m.name) for m in vocab.mentions(prepare(normalize(title or "")))}
    out = {}
    for cat, f in FIELD.items():
        v = claim.get(f"subject_{f}")
        if isinstance(v, str) and v:
            out[f] = "sentence" if (cat, v) in in_sentence else "title" if (cat, v) in in_title else "none"
    return out


def ground_frame(study: str, claims: pd.DataFrame, sources: dict, cfg: ClaimsConfig,
                 embed_cfg: dict | None = None, progress: bool = True, titles: dict | None = None,
                 authors: dict | None = None) -> pd.DataFrame:
    """The claim_support table for `claims` given each paper's source sentences.

    A claim whose sentence is a span of its paper's text gets method `self` and the extraction check
    only; any other claim is searched in its cited paper (TF-IDF, embeddings when on, numbers)."""
    claims = claims.reset_index(drop=True)
    if claims.empty:
        return pd.DataFrame(columns=SUPPORT_COLUMNS)
    titles = titles or {}
    vocab = load_vocab(cfg.vocab_path or None)
    order = sorted({str(p) for p in claims["paper_id"]})
    flat, offset = [], {}
    for pid in order:
        offset[pid] = (len(flat), len(flat) + len(sources.get(pid, [])))
        flat.extend(s for _, _, s in sources.get(pid, []))
    paper_text = {pid: _squash(" ".join(flat[offset[pid][0]:offset[pid][1]])) for pid in order}
    sentences = claims["sentence"].fillna("").astype(str).tolist()
    verbatim = np.array([bool(s.strip()) and _squash(s) in paper_text[str(p)]
                         for s, p in zip(sentences, claims["paper_id"].astype(str))])
    search = np.flatnonzero(~verbatim)  # only claims that are not their own source are searched
    support = np.full(len(claims), np.nan)
    best = np.full(len(claims), -1)
    if len(search):
        # one process: starting workers costs more than hashing short sentences saves (measured, bench_claims.py)
        mat = tfidf_matrix(flat + [sentences[i] for i in search], parallel_above=10 ** 7)
        n = len(flat)
        sub = claims.iloc[search]
        groups = sub.groupby(sub["paper_id"].astype(str), sort=True).indices
        for pid, local in tqdm(groups.items(), desc=f"grounding {study}", unit="paper",
                               disable=not progress or len(groups) < 50):
            rows = search[local]
            a, b = offset[pid]
            if b == a:
                support[rows] = 0.0
                continue
            sims = (mat[n + local] @ mat[a:b].T).toarray()
            best[rows] = a + sims.argmax(axis=1)
            support[rows] = sims.max(axis=1)
    nums = {pid: number_set(" ".join(flat[offset[pid][0]:offset[pid][1]])) for pid in order}
    use_emb = cfg.use_embeddings and (embed_cfg or {}).get("backend", "none") != "none" and len(search)
    emb = np.full(len(claims), np.nan)
    if use_emb:
        emb[search] = _best_embedding(claims.iloc[search].reset_index(drop=True), sources, order, embed_cfg)
    method = "tfidf" + (f"+{method_name(embed_cfg)}" if use_emb else "")
    where = {pid: sources.get(pid, []) for pid in order}
    rows = []
    for i, c in enumerate(claims.to_dict("records")):
        pid = str(c["paper_id"])
        wanted = claim_numbers(c.get("numbers"))
        row = {"study": study, "claim_id": c["claim_id"], "paper_id": pid, "verbatim": bool(verbatim[i]),
               "embedding_support": round(float(emb[i]), 6) if np.isfinite(emb[i]) else np.nan}
        named = _named_in(c, sentences[i], titles.get(pid, ""), vocab)
        row["subject_named_in"] = json.dumps(named, sort_keys=True)
        if c.get("source") == "table" and verbatim[i]:
            # a table cell's figure is read from the cell, not its caption (the claim's sentence): the
            # extraction check is that the cell's number is in the paper's extracted text
            missing = [x for x in wanted if x not in nums[pid]]
            row.update({"text_support": np.nan, "numbers_grounded": not missing, "evidence": sentences[i],
                        "method": "self", "evidence_source": "table", "evidence_index": _index(c.get("sentence_index")),
                        "supported": None, "numbers_in_evidence": None, "missing_numbers": ",".join(f"{x:g}" for x in missing),
                        "unit_in_sentence": None, "extraction_ok": not missing})
        elif verbatim[i]:
            # its own sentence proves nothing about the paper: record only whether extraction read it right
            missing, unit_ok = _numbers_with_unit(sentences[i], wanted, c.get("unit"))
            row.update({"text_support": np.nan, "numbers_grounded": not missing and unit_ok,
                        "evidence": sentences[i], "method": "self",
                        "evidence_source": str(c.get("section") or c.get("source") or ""), "evidence_index": _index(c.get("sentence_index")),
                        "supported": None, "numbers_in_evidence": not missing, "missing_numbers": ",".join(f"{x:g}" for x in missing),
                        "unit_in_sentence": unit_ok,
                        "extraction_ok": not missing and unit_ok and "none" not in named.values()})
        else:
            missing = [x for x in wanted if x not in nums[pid]]
            ev_src, ev_idx, evidence = ("", -1, "")
            if best[i] >= 0:
                ev_src, ev_idx, evidence = where[pid][best[i] - offset[pid][0]]
            in_ev = number_set(evidence)
            row.update({"text_support": round(float(support[i]), 6),
                        "numbers_grounded": not missing and bool(where[pid]), "evidence": evidence, "method": method,
                        "evidence_source": ev_src, "evidence_index": int(ev_idx),
                        "supported": bool(support[i] >= cfg.min_support and not missing and where[pid]),
                        "numbers_in_evidence": all(x in in_ev for x in wanted) and bool(evidence),
                        "missing_numbers": ",".join(f"{x:g}" for x in missing), "unit_in_sentence": None,
                        "extraction_ok": None})
        rows.append(row)
    df = pd.DataFrame(rows)
    rel = relate_claims(claims, cfg.agree_tolerance, authors)  # row-aligned with claims
    for col in ("agrees_with", "conflicts_with", "n_agree", "n_conflict", "matched_fields"):
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
    titles = dict(zip(papers["paper_id"].astype(str), papers["title"].fillna(""))) if "title" in papers else {}
    authors = dict(zip(papers["paper_id"].astype(str), papers["authors"])) if "authors" in papers else {}
    df = ground_frame(study, claims, source_sentences(papers, fulltext), conf, embed_cfg, titles=titles,
                      authors=authors)
    write_parquet(output, df)
    if not df.empty:
        own = df["method"] == "self"
        log.info("%s: %d claims, %d verbatim (method self: extraction check only, %d read right), %d searched in "
                 "their paper (%d supported at tf-idf >= %.2f), %d agreeing and %d conflicting pairs", study, len(df),
                 int(own.sum()), int(df.loc[own, "numbers_grounded"].sum()), int((~own).sum()),
                 int(df.loc[~own, "supported"].fillna(False).astype(bool).sum()), conf.min_support,
                 int(df["n_agree"].sum()) // 2, int(df["n_conflict"].sum()) // 2)
    return df
