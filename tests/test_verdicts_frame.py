"""The question frame: what a question is about, which claims are evidence for it, and drift per element."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from test_verdicts_data import claim, write_study

from sovereign.claims.vocab import load_vocab
from sovereign.verdicts.frame import build_frame, frame_rows, frame_study, place_claims

GPU_Q = "How does inference latency and throughput of NVIDIA L4 compare with T4 across precisions and batch sizes?"
ROUTING_Q = ("How does the inference latency and throughput of AnyExperts' on-demand routing strategy compare to fixed "
             "routing baselines (e.g., top-k routing) across varying batch sizes on standard multimodal benchmarks "
             "like VQAv2 and Visual7W?")
CLAIMS = [
    claim("act", "2511.18314", "AnyExperts uses 40% fewer real expert activations.", kind="change",
          metric="expert_activations", value=-40, unit="%", subject_method="anyexperts", baseline_method="fixed top-k"),
    claim("acc", "2511.18314", "AnyExperts keeps accuracy.", kind="absolute", metric="accuracy", value=80, unit="%",
          subject_method="anyexperts"),
    claim("gap", "2604.14552", "L4 throughput is up to 4.4 times the T4.", kind="ratio", metric="throughput", value=4.4,
          unit="x", subject_device="l4", baseline_device="t4", subject_model="resnet18"),
    claim("xeon", "2602.16858", "The Xeon reaches 300 images/s.", kind="absolute", metric="throughput", value=300,
          unit="images/s", subject_device="xeon", subject_model="resnet50"),
    claim("p99", "2501.00001", "On the T4, p99 latency is 3 ms.", kind="absolute", metric="latency_p99", value=3,
          unit="ms", subject_device="t4"),
]


def test_routing_question_frame():
    assert build_frame("routing", ROUTING_Q) == {
        "study": "routing", "question": ROUTING_Q, "subject": {"method": ["anyexperts", "on-demand routing"]},
        "baseline": {"method": ["top-k routing"]}, "metrics": ["latency", "throughput"], "swept": ["batch size"],
        "datasets": ["vqav2", "visual7w"], "method_families": ["expert routing"]}


def test_device_question_frame_splits_subject_from_baseline_at_the_comparison():
    f = build_frame("gpu", GPU_Q)
    assert (f["subject"], f["baseline"], f["metrics"], f["swept"], f["datasets"]) == (
        {"device": ["l4"]}, {"device": ["t4"]}, ["latency", "throughput"], ["batch size", "precision"], [])
    # the same words the other way round: T4 becomes the subject
    g = build_frame("gpu", "How does the T4 compare with the L4 in p99 latency?")
    assert (g["subject"], g["baseline"], g["metrics"]) == ({"device": ["t4"]}, {"device": ["l4"]}, ["latency"])


def test_study_frames_rows_name_element_field_and_value():
    rows = frame_rows(build_frame("gpu", GPU_Q))
    assert {(r["element"], r["field"], r["value"]) for r in rows} == {
        ("subject", "device", "l4"), ("baseline", "device", "t4"), ("metric", None, "latency"),
        ("metric", None, "throughput"), ("swept dimension", None, "batch size"), ("swept dimension", None, "precision")}


@pytest.mark.parametrize("question, on, off_reason", [
    (ROUTING_Q, {"act"}, {"acc": "about accuracy of anyexperts; the question asks about latency, throughput",
                          "gap": "about resnet18 on L4 vs T4; the question is about expert routing",
                          "xeon": "about resnet50 on xeon; the question is about expert routing",
                          "p99": "about latency_p99 on T4; the question is about expert routing"}),
    (GPU_Q, {"gap", "p99"}, {"act": "about anyexperts vs fixed top-k; the question is about l4 vs t4",
                             "acc": "about anyexperts; the question is about l4 vs t4",
                             "xeon": "about resnet50 on xeon; the question is about l4 vs t4"}),
])
def test_claims_are_placed_on_or_off_the_frame_by_their_structured_fields(question, on, off_reason):
    vocab = load_vocab()
    placed = place_claims(pd.DataFrame(CLAIMS), build_frame("s", question, vocab), vocab)
    assert set(placed.loc[placed["on_frame"], "claim_id"]) == on
    off = placed[~placed["on_frame"]].set_index("claim_id")["frame_reason"].to_dict()
    assert {k: v.lower() for k, v in off.items()} == {k: v.lower() for k, v in off_reason.items()}


def test_a_sentence_that_mentions_the_subject_without_structured_fields_stays_off():
    """Similarity never decides: a GPU sentence naming 'top-k' in its text but not in its fields is off the frame."""
    vocab = load_vocab()
    c = claim("txt", "2604.14552", "Unlike top-k routing studies, we measure L4 throughput.", kind="absolute",
              metric="throughput", value=8000, unit="images/s", subject_device="l4")
    placed = place_claims(pd.DataFrame([c]), build_frame("routing", ROUTING_Q, vocab), vocab)
    assert not placed["on_frame"].iloc[0]


def test_frame_study_writes_frame_on_frame_claims_and_drift_per_element(tmp_path):
    papers = [{"paper_id": "2511.18314", "title": "AnyExperts", "abstract": "On-demand expert slots evaluated on VQAv2 "
               "across batch sizes."},
              {"paper_id": "2604.14552", "title": "DEEP-GAP", "abstract": "L4 and T4 ResNet inference."}]
    paths = write_study(tmp_path, "routing", ROUTING_Q, papers, CLAIMS[:3], {})
    d = tmp_path / "results" / "routing"
    res = frame_study("routing", ROUTING_Q, paths["claims"], paths["papers"], str(d / "frame.json"),
                      str(d / "on.parquet"), str(d / "rows.parquet"), fulltext_path=paths["fulltext"])
    assert pd.read_parquet(d / "on.parquet")["claim_id"].tolist() == ["act"]
    assert json.loads((d / "frame.json").read_text())["off_frame"] == res["off_frame"]
    cover = {(e["element"], e["value"]): e["covered"] for e in res["drift"]["elements"]}
    assert cover == {("subject", "anyexperts"): True, ("subject", "on-demand routing"): True,
                     ("baseline", "top-k routing"): True, ("metric", "latency"): True, ("metric", "throughput"): True,
                     ("swept dimension", "batch size"): True, ("dataset", "vqav2"): True, ("dataset", "visual7w"): False}
    assert res["drift"]["drift"] is False
    assert len(pd.read_parquet(d / "rows.parquet")) == 8


def test_frame_study_with_only_off_frame_claims_is_drift(tmp_path):
    papers = [{"paper_id": "2604.14552", "title": "DEEP-GAP", "abstract": "L4 and T4 ResNet inference."}]
    paths = write_study(tmp_path, "routing", ROUTING_Q, papers, [CLAIMS[2]], {})
    d = tmp_path / "results" / "routing"
    res = frame_study("routing", ROUTING_Q, paths["claims"], paths["papers"], str(d / "frame.json"),
                      str(d / "on.parquet"), str(d / "rows.parquet"))
    assert res["drift"]["drift"] is True
    assert res["drift"]["reasons"][0].startswith("no claim of the kept papers is about the question's subject")
    assert pd.read_parquet(d / "on.parquet").empty


@pytest.mark.parametrize("question, papers, drift", [
    (ROUTING_Q, [{"paper_id": "2604.14552", "title": "DEEP-GAP", "abstract": "L4 and T4 ResNet inference."}],
     ["no kept paper names the question's subject or baseline (anyexperts, on-demand routing, top-k routing); "
      "kept: 2604.14552"]),
    (ROUTING_Q, [{"paper_id": "2604.14552", "title": "DEEP-GAP", "abstract": "L4 ResNet inference.", "kept": False}],
     ["no kept evidence at all"]),
    (GPU_Q, [{"paper_id": "2604.14552", "title": "DEEP-GAP", "abstract": "L4 and T4 ResNet inference."}], []),
])
def test_without_claims_drift_is_read_from_the_kept_papers(tmp_path, question, papers, drift):
    paths = write_study(tmp_path, "s", question, papers, [], {})
    d = tmp_path / "results" / "s"
    res = frame_study("s", question, paths["claims"], paths["papers"], str(d / "frame.json"), str(d / "on.parquet"),
                      str(d / "rows.parquet"))
    assert (res["drift"]["drift"], res["drift"]["reasons"]) == (bool(drift), drift)
