"""Text helpers shared by screening, claims and grounding: tokens, sentences, TF-IDF (scikit-learn)."""
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


_TOKEN_PATTERN = r"(?u)\b[\w][\w\-\.]*[\w]\b|\b\w\b"  # keeps 'top-k', 'v3.1', 'int8' whole
N_FEATURES = 2 ** 20  # hashed term columns: no vocabulary to build or keep


def _hashed_counts(texts: list[str]):
    """Term counts (CSR, float32) of lower-cased unigrams and bigrams, stopwords dropped before pairing,
    hashed by scikit-learn's HashingVectorizer (MurmurHash3, the same columns in every process)."""
    # Imported here, not at module level: scikit-learn's import (it pulls in scipy.stats) costs a job
    # seconds on a loaded 2-core machine, and only the jobs that score text should pay it.
    from sklearn.feature_extraction.text import HashingVectorizer

    vec = HashingVectorizer(ngram_range=(1, 2), lowercase=True, token_pattern=_TOKEN_PATTERN,
                            stop_words=sorted(STOPWORDS), alternate_sign=False, norm=None,
                            n_features=N_FEATURES, dtype=np.float32)
    return vec.transform([str(t) for t in texts])


def tfidf_matrix(texts: list[str], parallel_above: int = 20000):
    """L2-normalised TF-IDF rows for texts, IDF fitted on them: scikit-learn's hashed uni+bigram counts and
    TfidfTransformer with sublinear tf (1 + ln tf) and smoothed idf (ln((1 + n) / (1 + df)) + 1).

    Hashing needs no vocabulary, so inputs above `parallel_above` texts are counted in two processes
    (joblib); the result does not depend on whether that happened.
    """
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfTransformer

    texts = list(texts)
    if len(texts) > parallel_above:
        from joblib import Parallel, delayed

        half = (len(texts) + 1) // 2
        parts = Parallel(n_jobs=2)(delayed(_hashed_counts)(texts[i:i + half]) for i in range(0, len(texts), half))
        counts = sp.vstack(parts).tocsr()
    else:
        counts = _hashed_counts(texts)
    return TfidfTransformer(sublinear_tf=True).fit_transform(counts)


def has_word(text: str, term: str) -> bool:
    """Whether `term` occurs in `text` as a whole word, ignoring case: no letter or digit right before or
    after it, so "l4" is not found in "NVIDIA L40S", nor "a10" in "A100"."""
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(term)}(?![A-Za-z0-9])", text, re.IGNORECASE) is not None


def cosine_rows(a, b) -> np.ndarray:
    """Row-wise cosine between matching rows of two L2-normalised matrices (sparse or dense)."""
    if hasattr(a, "multiply"):
        return np.asarray(a.multiply(b).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", np.asarray(a), np.asarray(b))
