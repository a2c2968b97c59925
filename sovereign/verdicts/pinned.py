"""A study pinned to papers without a question: its question, and so its frame, from those papers' claims."""
from __future__ import annotations

from collections import Counter

import pandas as pd

from ..claims.vocab import FIELD, Vocab
from .match import clean

ORDER = ("methods", "models", "devices", "backends", "precisions")


def _alias(vocab: Vocab, category: str, name: str) -> str | None:
    """A spelling of `name` that the vocabulary reads back as exactly that term."""
    for alias, canon in vocab.terms.get(category, {}).items():
        if canon == name and [(m.category, m.name) for m in vocab.mentions(alias)] == [(category, name)]:
            return alias
    return None


def _metric_alias(vocab: Vocab, metric: str) -> str | None:
    for alias, canon in vocab.metrics.items():
        if canon == metric and [m.name for m in vocab.metric_mentions(alias)] == [metric]:
            return alias
    return None


def _top(values, n: int) -> list[str]:
    counts = Counter(v for v in (clean(x) for x in values) if v)
    return [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def _side(claims: pd.DataFrame, prefix: str, vocab: Vocab, n: int) -> list[str]:
    words = []
    for cat in ORDER:
        col = f"{prefix}_{FIELD[cat]}"
        if col in claims.columns:
            words += [a for a in (_alias(vocab, cat, v) for v in _top(claims[col], n)) if a]
    return words


def question_from_claims(claims: pd.DataFrame, vocab: Vocab, papers: list[str]) -> str:
    """A question naming what the pinned papers' empirical claims are about: their most frequent subject,
    baseline and metrics, so build_frame reads the same frame back from it."""
    label = "arXiv " + ", ".join(papers)
    emp = claims[claims["kind"].map(clean) != "not_empirical"] if len(claims) and "kind" in claims else claims
    if emp is None or emp.empty:
        return f"Do the claims of {label} hold on this hardware?"
    subject = _side(emp, "subject", vocab, 2)
    baseline = _side(emp, "baseline", vocab, 2)
    metrics = [a for a in (_metric_alias(vocab, m) for m in _top(emp.get("metric", []), 3)) if a]
    swept = " across batch sizes" if "subject_batch" in emp and emp["subject_batch"].map(clean).any() else ""
    what = " and ".join(metrics) or "performance"
    subject_text = " ".join(subject) or "the systems"
    if baseline:
        return f"How does the {what} of {subject_text} compare with {' '.join(baseline)}{swept} ({label})?"
    return f"What {what} does {subject_text} reach{swept} ({label})?"




def frame_pinned_or_asked(question: str, from_claims: bool, papers: list[str], **kwargs) -> dict:
    """Stage entry of frame_study: the study's question, or for a study pinned to papers without one, the
    question its papers' claims ask (question_from_claims); then frame_study as for any study."""
    from ..claims.vocab import load_vocab
    from ..io import read_table
    from .frame import frame_study

    if from_claims:
        question = question_from_claims(read_table(kwargs["claims_path"]), load_vocab(kwargs.get("vocab_path") or None),
                                        list(papers))
    return frame_study(question=question, **kwargs)
