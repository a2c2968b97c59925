"""Text helpers shared by screening, claims and grounding: tokens, sentences, TF-IDF."""
from __future__ import annotations

import re
import unicodedata

import numpy as np

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-\.]*[A-Za-z0-9]|[A-Za-z0-9]", re.UNICODE)

STOPWORDS = frozenset(
    """a an and are as at be been being but by can could did do does doing e.g eg et etc for from
    had has have how i ie i.e if in into is it its like may might more most of on or our over per
    should so such than that the their them then there these they this those through to under up
    upon us using via was we were what when where which while who whom why will with within without
    would you compare compared compares comparison versus vs across between among varying various
    standard""".split()
)


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def normalize(text: str) -> str:
    """NFKC-normalise, fold typographic quotes, collapse whitespace (ASCII text takes a fast path)."""
    if not text:
        return ""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    """Lower-case word tokens (keeps hyphenated and dotted words like 'top-k', 'v3.1')."""
    return [t.lower() for t in _WORD.findall(normalize(text))]


def content_tokens(text: str) -> list[str]:
    """Tokens without stopwords."""
    return [t for t in tokens(text) if t not in STOPWORDS]


# A sentence may also open with a LaTeX macro or a lower-case name such as vLLM, p99, torch.compile.
_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?(?:[A-Z0-9\\]|[a-z]+[A-Z0-9.][\w.]*\b))")
_ABBREV = re.compile(r"\b(?:e\.g|i\.e|et al|etc|vs|Fig|Figs|Eq|Eqs|Sec|Tab|No|approx|cf)\.$", re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping abbreviations (e.g., et al., Fig.) and decimals intact."""
    text = normalize(text)
    if not text:
        return []
    parts, start = [], 0
    for m in _SENT_END.finditer(text):
        chunk = text[start:m.start()].strip()
        if _ABBREV.search(chunk):
            continue
        if chunk:
            parts.append(chunk)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        parts.append(tail)
    return parts


_TOKEN_PATTERN = r"(?u)\b[\w][\w\-\.]*[\w]\b|\b\w\b"
_TOKENS = re.compile(_TOKEN_PATTERN)
N_FEATURES = 2 ** 20  # hashed term columns; a power of two, so a mask picks the column


def _count_chunk(texts: list[str]):
    """Term counts (CSR, float32) of lower-cased unigrams and bigrams, stopwords dropped before pairing,
    each term hashed with CRC-32 into N_FEATURES columns (deterministic across processes and runs)."""
    import zlib

    import scipy.sparse as sp

    column: dict[str, int] = {}
    indices: list[int] = []
    indptr = [0]
    mask = N_FEATURES - 1
    for text in texts:
        toks = [t for t in _TOKENS.findall(str(text).lower()) if t not in STOPWORDS]
        for term in toks + [f"{a} {b}" for a, b in zip(toks, toks[1:])]:
            col = column.get(term)
            if col is None:
                col = column[term] = zlib.crc32(term.encode("utf-8")) & mask
            indices.append(col)
        indptr.append(len(indices))
    counts = sp.csr_matrix((np.ones(len(indices), dtype=np.float32), np.asarray(indices, dtype=np.int32),
                            np.asarray(indptr, dtype=np.int64)), shape=(len(texts), N_FEATURES))
    counts.sum_duplicates()  # repeated terms of a text become one count
    return counts


def tfidf_matrix(texts: list[str], parallel_above: int = 20000):
    """L2-normalised TF-IDF rows for texts, IDF fitted on them: hashed uni+bigram counts, sublinear tf
    (1 + ln tf), smoothed idf (ln((1 + n) / (1 + df)) + 1), the usual textbook variant.

    Terms are hashed into 2**20 columns, so no vocabulary is built; large inputs are counted in two
    processes. The result does not depend on whether that happened. NumPy and SciPy only: importing
    scikit-learn's text module cost each job 3 s on the 2-core machine.
    """
    import scipy.sparse as sp

    texts = list(texts)
    if len(texts) > parallel_above:
        from concurrent.futures import ProcessPoolExecutor

        half = (len(texts) + 1) // 2
        with ProcessPoolExecutor(max_workers=2) as pool:
            parts = list(pool.map(_count_chunk, [texts[i:i + half] for i in range(0, len(texts), half)]))
        counts = sp.vstack(parts).tocsr()
    else:
        counts = _count_chunk(texts)
    n = counts.shape[0]
    counts.data = np.log(counts.data) + np.float32(1.0)
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
    counts.data *= idf[counts.indices]
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.diags((1.0 / norms).astype(np.float32)) @ counts


def has_word(text: str, term: str) -> bool:
    """Whether `term` occurs in `text` as a whole word, ignoring case: no letter or digit right before or
    after it, so "l4" is not found in "NVIDIA L40S", nor "a10" in "A100"."""
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(term)}(?![A-Za-z0-9])", text, re.IGNORECASE) is not None


def cosine_rows(a, b) -> np.ndarray:
    """Row-wise cosine between matching rows of two L2-normalised matrices (sparse or dense)."""
    if hasattr(a, "multiply"):
        return np.asarray(a.multiply(b).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", np.asarray(a), np.asarray(b))
