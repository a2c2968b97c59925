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
        "datasets": ["vqav2", "visual7w"], "method_families": ["expert routing"], "comparisons": [],
        "scope": {"model": [], "device": [], "precision": [], "backend": [], "batch_size": [], "phase": []},
        "phrases": {"anyexperts": "AnyExperts", "on-demand routing": "on-demand routing",
                    "top-k routing": "top-k routing"}}


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
    (ROUTING_Q, {"act"}, {
        "acc": "the claim's metric is accuracy (it is about anyexperts); the question asks about latency, throughput",
        "gap": "the claim names no expert routing method (it is about resnet18 on L4 vs T4); the question asks about "
               "expert routing",
        "xeon": "the claim names no expert routing method (it is about resnet50 on xeon); the question asks about "
                "expert routing",
        "p99": "the claim names no expert routing method (it is about latency_p99 on T4); the question asks about "
               "expert routing"}),
    (GPU_Q, {"gap", "p99"}, {
        "act": "the claim names no device (it is about anyexperts vs fixed top-k); the question asks about "
               "NVIDIA L4, T4",
        "acc": "the claim names no device (it is about anyexperts); the question asks about NVIDIA L4, T4",
        "xeon": "the claim's device is xeon (it is about resnet50 on xeon); the question asks about NVIDIA L4, T4"}),
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


CPU_Q = ("How much faster is INT8 than FP32 inference for ResNet models on x86 server CPUs with ONNX Runtime, and how "
         "does ONNX Runtime compare with eager PyTorch across batch sizes?")


def test_how_much_faster_keeps_a_latency_claim_and_a_named_metric_narrows_it():
    vocab = load_vocab()
    lat = claim("lat", "p1", "FP16 cuts latency from 8 ms to 4 ms on the L4.", kind="change", metric="latency",
                value_from=8, value_to=4, unit="ms", subject_device="l4", subject_precision="fp16",
                baseline_precision="fp32")
    fast = build_frame("s", "How much faster is FP16 than FP32 on the L4?", vocab)
    assert fast["metrics"] == ["throughput", "latency"]
    assert place_claims(pd.DataFrame([lat]), fast, vocab)["on_frame"].tolist() == [True]
    # a question naming throughput asks about throughput only: the latency claim is off, and the reason says why
    only = build_frame("s", "How much faster is FP16 than FP32 in throughput on the L4?", vocab)
    placed = place_claims(pd.DataFrame([lat]), only, vocab)
    assert only["metrics"] == ["throughput"] and not placed["on_frame"].iloc[0]
    assert placed["frame_reason"].iloc[0].startswith("the claim's metric is latency")
    assert build_frame("s", "How fast does vLLM generate tokens on the H100?", vocab)["metrics"] == [
        "throughput", "latency", "ttft", "tpot"]


def test_each_half_of_an_and_is_a_comparison_and_the_question_scope_is_what_it_names():
    f = build_frame("cpu", CPU_Q)
    assert f["comparisons"] == [
        {"field": "precision", "subject": "int8", "baseline": "fp32",
         "context": {"device": ["cpu"], "backend": ["onnxruntime"]}},
        {"field": "backend", "subject": "onnxruntime", "baseline": "pytorch", "context": {}}]
    assert f["metrics"] == ["throughput", "latency"]  # 'ONNX Runtime' names a backend, not a latency
    one = build_frame("s", "How much faster is ResNet-50 FP16 than FP32 on the L4 at batch size 1?")
    assert (one["scope"]["model"], one["scope"]["batch_size"], one["scope"]["device"]) == (["resnet50"], [1], ["l4"])


def test_an_off_frame_reason_names_the_field_that_failed_in_the_question_s_words():
    vocab = load_vocab()
    c = claim("nodev", "p1", "INT8 is 2x FP32.", kind="ratio", metric="throughput", value=2.0, unit="x",
              subject_precision="int8", baseline_precision="fp32")
    placed = place_claims(pd.DataFrame([c]), build_frame("cpu", CPU_Q, vocab), vocab)
    assert placed["frame_reason"].iloc[0] == ("the claim names no device (it is about int8 vs fp32); the question asks "
                                              "about x86 server CPUs")
