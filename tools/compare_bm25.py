"""Compare the snapshot source's BM25 with bm25s (method "lucene", same k1 and b): top results and speed.

bm25s is not a dependency; install it aside to run this:
    pip install --no-deps --target /tmp/bm25pkg bm25s
    PYTHONPATH=$PWD:/tmp/bm25pkg .venv/bin/python tools/compare_bm25.py results/*/queries.json
"""
from __future__ import annotations

import json
import random
import sys
import time

import numpy as np

from sovereign.literature.snapshot import BM25, load_corpus
from sovereign.text import content_tokens

K1, B, TOP = 1.5, 0.75, 20


def both(docs: list[list[str]], query: list[str]) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Scores of ours and of bm25s for one query, each indexing the corpus as a search job does."""
    import bm25s

    t = time.perf_counter()
    ours = np.asarray(BM25(docs, k1=K1, b=B).scores(query))
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    ranker = bm25s.BM25(method="lucene", k1=K1, b=B)
    ranker.index(docs, show_progress=False)
    lib = np.asarray(ranker.get_scores(query), dtype=float)
    return ours, lib, t_ours, time.perf_counter() - t


def top(scores: np.ndarray, ids: list[str]) -> list[str]:
    """The ids a search returns: best first, ties by id, zero scores left out."""
    order = sorted(range(len(ids)), key=lambda i: (-scores[i], ids[i]))
    return [ids[i] for i in order[:TOP] if scores[i] > 0]


def main(query_files: list[str]) -> None:
    """Print agreement and timings on the bundled corpus, then on larger shuffled copies of it."""
    corpus = load_corpus("resources/corpus/arxiv_snapshot.jsonl")
    ids = [r["id"] for r in corpus]
    docs = [content_tokens(r["title"]) * 2 + content_tokens(r.get("abstract", "")) for r in corpus]
    queries = [q["text"] for f in query_files for q in json.load(open(f, encoding="utf-8"))]
    same, ratio, t_ours, t_lib = 0, [], 0.0, 0.0
    for q in queries:
        ours, lib, a, b = both(docs, content_tokens(q))
        same += top(ours, ids) == top(lib, ids)
        ratio.append(np.abs(ours - (K1 + 1) * lib).max())  # bm25s drops the constant (k1 + 1) factor
        t_ours, t_lib = t_ours + a, t_lib + b
    print(f"{len(queries)} queries, {len(ids)} records: same top-{TOP} for {same}; "
          f"max |ours - (k1+1)*bm25s| {max(ratio):.1e}; per query ours {1e3 * t_ours / len(queries):.2f} ms, "
          f"bm25s {1e3 * t_lib / len(queries):.2f} ms")
    rng, words = random.Random(0), sorted({t for d in docs for t in d})
    for n in (10_000, 50_000):
        big = []
        for i in range(n):
            d = list(docs[i % len(docs)])
            rng.shuffle(d)
            big.append(d[:rng.randint(min(20, len(d)), len(d))] + [rng.choice(words) for _ in range(10)])
        big_ids = [f"{i:06d}" for i in range(n)]
        ours, lib, a, b = both(big, content_tokens(queries[0] if queries else "gpu inference latency"))
        print(f"{n} synthetic records: same top-{TOP} {top(ours, big_ids) == top(lib, big_ids)}; "
              f"ours {a:.2f} s, bm25s {b:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
