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


_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
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


def tfidf_vectorizer(**kw):
    """The project's TF-IDF: unigrams+bigrams, sublinear tf, English stopwords kept out."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    params = dict(ngram_range=(1, 2), sublinear_tf=True, lowercase=True, strip_accents="unicode",
                  token_pattern=r"(?u)\b[\w][\w\-\.]*[\w]\b|\b\w\b", stop_words=sorted(STOPWORDS))
    params.update(kw)
    return TfidfVectorizer(**params)


_TOKEN_PATTERN = r"(?u)\b[\w][\w\-\.]*[\w]\b|\b\w\b"


def _hashing(n_features: int = 2 ** 20):
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(ngram_range=(1, 2), lowercase=True, token_pattern=_TOKEN_PATTERN,
                             stop_words=sorted(STOPWORDS), alternate_sign=False, norm=None,
                             n_features=n_features, dtype=np.float32)


def _count_chunk(texts: list[str]):
    return _hashing().transform(texts)


def tfidf_matrix(texts: list[str], parallel_above: int = 20000):
    """L2-normalised TF-IDF rows (uni+bigrams, sublinear tf) for texts, IDF fitted on them.

    Terms are hashed into 2**20 columns, so no vocabulary is built; large inputs are
    counted in two processes. The result does not depend on whether that happened.
    """
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfTransformer

    if len(texts) > parallel_above:
        from joblib import Parallel, delayed

        half = (len(texts) + 1) // 2
        parts = Parallel(n_jobs=2)(delayed(_count_chunk)(texts[i:i + half]) for i in range(0, len(texts), half))
        counts = sp.vstack(parts).tocsr()
    else:
        counts = _count_chunk(texts)
    return TfidfTransformer(sublinear_tf=True).fit_transform(counts)


def cosine_rows(a, b) -> np.ndarray:
    """Row-wise cosine between matching rows of two L2-normalised matrices (sparse or dense)."""
    if hasattr(a, "multiply"):
        return np.asarray(a.multiply(b).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", np.asarray(a), np.asarray(b))
