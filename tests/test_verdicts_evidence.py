"""Re-grounding: corroboration is a field-by-field match of claims from papers by other authors, never similarity."""
from __future__ import annotations

import pandas as pd

from sovereign.claims.extract import ClaimsConfig, claims_frame
from sovereign.verdicts.evidence import reground

ROUTING_Q = "How does on-demand expert routing compare with top-k routing in latency across batch sizes?"


def _papers(rows: list[tuple[str, str, list[str], str]]) -> pd.DataFrame:
    return pd.DataFrame([{"study": "s", "paper_id": pid, "title": title, "authors": authors, "abstract": text,
                          "kept": True} for pid, title, authors, text in rows])


def _corroboration(papers: pd.DataFrame, claim_papers: list[str], threshold: float = 0.2) -> list[dict]:
    claims = claims_frame("s", papers[papers["paper_id"].isin(claim_papers)], None, ClaimsConfig(), progress=False)
    return reground(ROUTING_Q, claims, papers, None, {"backend": "none"}, threshold, 0.9)["corroboration"]


BENCH_A = ("2604.14552", "Inference GPUs compared", ["K. Palaniappan"],
           "The L4 delivers up to 4.4x the throughput of the T4. Batch sizes range from 1 to 512.")


def test_an_agreeing_claim_of_other_authors_corroborates_with_the_fields_named():
    papers = _papers([BENCH_A, ("1111.00001", "A field study of inference GPUs", ["R. Other"],
                                "In our lab the L4 delivers 4.1x the throughput of the T4.")])
    (row,) = [c for c in _corroboration(papers, ["2604.14552"]) if c["paper_id"] == "1111.00001"]
    assert row["relation"] == "corroborates" and row["independent"]
    assert row["matched_fields"] == "metric=throughput,unit=x,kind=ratio,subject_device=l4,baseline_device=t4"


def test_a_disagreeing_claim_conflicts_and_never_corroborates():
    papers = _papers([BENCH_A, ("1111.00002", "A field study of inference GPUs", ["R. Other"],
                                "In our lab the L4 delivers 9.5x the throughput of the T4.")])
    rows = [c for c in _corroboration(papers, ["2604.14552"]) if c["paper_id"] == "1111.00002"]
    assert [(r["relation"], r["independent"]) for r in rows] == [("conflicts", False)]


def test_a_paper_sharing_an_author_is_not_independent():
    papers = _papers([BENCH_A, ("1111.00003", "A follow-up study", ["k. palaniappan", "S. Else"],
                                "In our lab the L4 delivers 4.1x the throughput of the T4.")])
    assert not any(c["independent"] for c in _corroboration(papers, ["2604.14552"]))


def test_similar_sentences_about_other_things_never_corroborate():
    # the routing claim and a GPU-benchmark sentence share words ("batch sizes", "throughput") but no fields
    routing = ("2511.18314", "On-demand expert allocation", ["Y. Gao"],
               "On-demand routing uses 40% fewer real expert activations than top-2 routing across batch sizes.")
    papers = _papers([routing, BENCH_A])
    found = _corroboration(papers, ["2511.18314"], threshold=-1.0)  # every sentence is a candidate
    assert found == []
