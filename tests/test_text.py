"""sovereign.text: the TF-IDF that screening, grounding and re-grounding score with is scikit-learn's."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from sovereign.text import STOPWORDS, _TOKEN_PATTERN, tfidf_matrix

TEXTS = [
    "How does inference latency of NVIDIA L4 compare with T4 across precisions and batch sizes?",
    "We benchmark ResNet-50 inference on the T4 and the L4 at batch sizes 1 to 512 in FP16 and INT8.",
    "Top-k routing in mixture-of-experts models: latency of on-demand routing versus fixed top-k.",
    "Protein folding with diffusion models.",
    "The L4 reaches 2.1x the T4 throughput at batch 64; latency latency latency falls.",
]


def similarities(mat) -> np.ndarray:
    return np.asarray((mat @ mat.T).todense())


def test_scores_are_scikit_learns_uni_bigram_sublinear_tfidf():
    # the vocabulary version of the same model: hashing into 2**20 columns changes nothing here
    ref = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=_TOKEN_PATTERN,
                          stop_words=sorted(STOPWORDS)).fit_transform(TEXTS)
    got = tfidf_matrix(TEXTS)
    assert got.shape == (len(TEXTS), 2 ** 20)
    np.testing.assert_allclose(similarities(got), similarities(ref), atol=1e-6)
    assert similarities(got)[0, 1] > similarities(got)[0, 3] == 0.0


@pytest.mark.parametrize("kw", [dict(sublinear_tf=False), dict(ngram_range=(1, 1))])
def test_a_different_tfidf_would_be_told_apart(kw):
    # guards the test above: dropping bigrams or sublinear tf changes the scores measurably
    params = dict(ngram_range=(1, 2), sublinear_tf=True, token_pattern=_TOKEN_PATTERN, stop_words=sorted(STOPWORDS))
    params.update(kw)
    other = TfidfVectorizer(**params).fit_transform(TEXTS)
    assert np.abs(similarities(tfidf_matrix(TEXTS)) - similarities(other)).max() > 1e-3


def test_rows_are_unit_length_and_an_empty_text_is_a_zero_row():
    mat = tfidf_matrix(TEXTS + ["", "the and of"])
    norms = np.sqrt(np.asarray(mat.multiply(mat).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms, [1, 1, 1, 1, 1, 0, 0], atol=1e-6)


def test_counting_in_two_processes_gives_the_same_matrix():
    serial = tfidf_matrix(TEXTS * 3)
    parallel = tfidf_matrix(TEXTS * 3, parallel_above=4)
    assert (serial != parallel).nnz == 0


def test_scikit_learn_is_imported_only_by_jobs_that_score_text():
    # its import costs a job most of a second (scipy.stats comes with it): stages that never call
    # tfidf_matrix must not pay it at import time
    code = ("import sys, sovereign.text, sovereign.literature.screen, sovereign.claims.ground, "
            "sovereign.verdicts.evidence; print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
