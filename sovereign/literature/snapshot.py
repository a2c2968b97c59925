"""The offline source: any JSONL file of arXiv-like records, ranked with BM25."""
from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache
from pathlib import Path

from ..errors import CorpusError
from ..io import iter_jsonl
from ..text import content_tokens

REQUIRED = ("id", "title")
FIELDS = ("id", "title", "authors", "published", "categories", "abstract")


def _check(rec, path, lineno) -> dict:
    if not isinstance(rec, dict):
        raise CorpusError(f"{path}:{lineno}: a record must be a JSON object, got {type(rec).__name__}")
    for key in REQUIRED:
        if not isinstance(rec.get(key), str) or not rec[key].strip():
            raise CorpusError(f"{path}:{lineno}: record lacks a non-empty string '{key}'")
    for key in ("authors", "categories"):
        val = rec.get(key, [])
        if isinstance(val, str):
            val = [val]
        if not isinstance(val, list) or not all(isinstance(v, str) for v in val):
            raise CorpusError(f"{path}:{lineno}: '{key}' must be a list of strings")
        rec[key] = val
    for key in ("published", "abstract", "full_text"):
        if rec.get(key) is not None and not isinstance(rec[key], str):
            raise CorpusError(f"{path}:{lineno}: '{key}' must be a string")
    if rec.get("paraphrase") is not None and not isinstance(rec["paraphrase"], bool):
        raise CorpusError(f"{path}:{lineno}: 'paraphrase' must be true or false")
    rec.setdefault("abstract", "")
    rec.setdefault("published", "")
    return rec


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> tuple[dict, ...]:
    p = Path(path)
    records, seen = [], set()
    try:
        for lineno, rec in iter_jsonl(p, comments=True):
            rec = _check(rec, path, lineno)
            if rec["id"] in seen:
                raise CorpusError(f"{path}:{lineno}: duplicate record id {rec['id']!r}")
            seen.add(rec["id"])
            records.append(rec)
    except ValueError as exc:
        raise CorpusError(f"{exc}; fix or remove the line") from exc
    if not records:
        raise CorpusError(f"{path}: the corpus holds no records")
    return tuple(records)


def load_corpus(path: str) -> list[dict]:
    """Read and check a JSONL corpus; raise CorpusError naming the file and line of a bad record."""
    p = Path(path)
    if not p.exists():
        raise CorpusError(f"offline corpus {path} not found; set literature.snapshot_path to a JSONL file")
    return [dict(r) for r in _load(str(p.resolve()), p.stat().st_mtime)]


class BM25:
    """Okapi BM25 over title (counted twice) and abstract. Kept over bm25s: the same top results, and faster
    for one query per job up to 50,000 records (measured by tools/compare_bm25.py)."""

    def __init__(self, docs: list[list[str]], k1: float = 1.5, b: float = 0.75):
        self.k1, self.b = k1, b
        self.tf = [Counter(d) for d in docs]
        self.len = [len(d) for d in docs]
        self.avg = (sum(self.len) / len(docs)) if docs else 0.0
        df = Counter(t for d in self.tf for t in d)
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: list[str]) -> list[float]:
        """BM25 score of every document for the query tokens."""
        out = []
        for tf, dl in zip(self.tf, self.len):
            s = 0.0
            norm = self.k1 * (1 - self.b + self.b * dl / (self.avg or 1))
            for t in query:
                f = tf.get(t)
                if f:
                    s += self.idf[t] * f * (self.k1 + 1) / (f + norm)
            out.append(s)
        return out


def search_snapshot(path: str, query: str, max_results: int) -> list[dict]:
    """Rank the corpus for `query` with BM25; return the top records that match at all."""
    corpus = load_corpus(path)
    docs = [content_tokens(r["title"]) * 2 + content_tokens(r.get("abstract", "")) for r in corpus]
    scores = BM25(docs).scores(content_tokens(query))
    order = sorted(range(len(corpus)), key=lambda i: (-scores[i], corpus[i]["id"]))
    out = []
    for i in order[:max_results]:
        if scores[i] <= 0:
            break
        rec = {k: corpus[i].get(k) for k in FIELDS}
        rec["has_full_text"] = bool(corpus[i].get("full_text"))
        rec["score"] = round(scores[i], 6)
        out.append(rec)
    return out
