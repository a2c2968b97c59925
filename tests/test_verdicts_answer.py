"""The study's answer: built from this run's rows per comparison of the frame, never pooled across devices."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from test_verdicts_data import bench_row, cnn_rows

from sovereign.verdicts.answer import answer_rows, build_answer
from sovereign.verdicts.frame import build_frame
from sovereign.verdicts.hardware import load_hardware
from sovereign.verdicts.match import Bench
from test_verdicts_frame import GPU_Q, ROUTING_Q

# p50 ms per layer-stack forward and real activations per token, per strategy (2 layers)
PREFILL = {"ondemand": (6.0, 1.4), "topk2": (5.0, 2.0), "topk1": (3.0, 1.0)}
DECODE = {"ondemand": (0.9, 1.4), "topk2": (1.0, 2.0), "topk1": (0.6, 1.0)}


def routing_rows(device="cpu", gpu_name="Test CPU", scale=1.0) -> list[dict]:
    rows = []
    for phase, table in (("prefill", PREFILL), ("decode", DECODE)):
        for b in (1, 4):
            for s, (ms, act) in table.items():
                lat = ms * scale * b
                rows.append({**bench_row(device, "tiny_8e", s, "fp32", b, b / lat * 1000, suite="moe_routing"),
                             "gpu_name": gpu_name, "latency_ms_p50": lat, "phase": phase, "workload": "vqav2",
                             "dispatch": "grouped", "layers": 2, "real_act_per_token": act})
    return rows


def checks(*rows) -> pd.DataFrame:
    return pd.DataFrame([{"claim_id": c, "status": s, "reason": r} for c, s, r in rows])


def test_routing_answer_is_one_sentence_and_a_table_of_batch_sizes_by_strategy():
    bench = Bench(pd.DataFrame(routing_rows()), load_hardware())
    ans = build_answer(build_frame("routing", ROUTING_Q), checks(("a1", "UNTESTABLE", "needs the trained router")), bench)
    (c,) = ans["comparisons"]
    assert c["comparison"] == "on-demand vs top-k routing"
    assert c["headline"] == (
        "On Test CPU (device entry cpu), grouped dispatch, synthetic shape-matched workloads, batch sizes 1, 4: "
        "on-demand routing's p50 latency is -10% against top-2 and +50% against top-1 in decode; +20% against top-2 "
        "and +100% against top-1 in prefill, while it activates -30% real experts per token relative to top-2, "
        "yet fewer real activations do not show as lower latency on this block.")
    assert c["headline"].count(". ") == 0  # one sentence
    assert c["table"]["columns"] == ["phase", "batch", "on-demand", "top-2", "top-1"]
    assert c["table"]["rows"][0] == ["decode", 1, "0.9 ms · 1.40 act", "1 ms · 2.00 act", "0.6 ms · 1.00 act"]
    assert len(c["table"]["rows"]) == 4
    assert c["claims"] == [{"claim_id": "a1", "status": "UNTESTABLE", "reason": "needs the trained router",
                            "sentence": "", "conditional_finding": None}]
    assert "Conditional measurement" not in c["finding"]
    assert c["untested"] == ["claim a1: needs the trained router"]
    # every context stays in the details: 2 phases x 2 batch sizes x 2 baselines
    assert len(c["details"]) == 8 and {d["phase"] for d in c["details"]} == {"prefill", "decode"}
    assert "moe_routing/cpu/tiny_8e/ondemand/fp32/b4/vqav2/prefill/grouped" in c["measured"]


def test_routing_answer_is_given_per_device_never_pooled():
    rows = routing_rows() + routing_rows("h200", "NVIDIA H200", scale=0.1)
    ans = build_answer(build_frame("routing", ROUTING_Q), pd.DataFrame(), Bench(pd.DataFrame(rows), load_hardware()))
    names = [c["comparison"] for c in ans["comparisons"]]
    assert names == ["on-demand vs top-k routing on Test CPU (device entry cpu)",
                     "on-demand vs top-k routing on NVIDIA H200 (device entry h200)"]
    h200 = ans["comparisons"][1]
    assert all("/h200/" in k for k in h200["measured"]) and h200["table"]["rows"][0][2] == "0.09 ms · 1.40 act"


def test_a_question_naming_one_phase_and_batch_gets_only_those_rows():
    q = ROUTING_Q.replace("across varying batch sizes", "in decode at batch size 4")
    ans = build_answer(build_frame("routing", q), pd.DataFrame(), Bench(pd.DataFrame(routing_rows()), load_hardware()))
    (c,) = ans["comparisons"]
    assert c["table"]["columns"] == ["batch", "on-demand", "top-2", "top-1"] and len(c["table"]["rows"]) == 1
    assert {(d["phase"], d["batch_size"]) for d in c["details"]} == {("decode", 4)} and "prefill" not in c["headline"]


def test_routing_answer_without_routing_rows_says_what_would_answer_it():
    ans = build_answer(build_frame("routing", ROUTING_Q), pd.DataFrame(), Bench(pd.DataFrame(cnn_rows("cpu", 1.0)),
                                                                               load_hardware()))
    (only,) = ans["comparisons"]
    assert only["measured"] == [] and "run the moe_routing suite" in only["untested"][0]


@pytest.mark.parametrize("devices, answered", [(("l4", "t4"), True), (("cpu",), False)])
def test_device_comparison_is_measured_or_names_the_devices_it_needs(devices, answered):
    rows = [r for d, s in (("l4", 4.0), ("t4", 1.0), ("cpu", 0.1)) if d in devices for r in cnn_rows(d, s)]
    ans = build_answer(build_frame("gpu", GPU_Q), checks(("g1", "UNTESTABLE", "no l4 results; plausibility: x")),
                       Bench(pd.DataFrame(rows), load_hardware()), pd.DataFrame([{"claim_id": "g1", "subject_device": "l4"}]))
    (c,) = ans["comparisons"]
    assert c["comparison"] == "NVIDIA L4 vs T4 (device)"
    if answered:
        assert c["finding"].startswith("On NVIDIA L4, NVIDIA T4 (device entry l4, t4), NVIDIA L4 runs at 4.00x the "
                                       "throughput of T4 (ResNet-18 4.00x at batch 64), with p50 latency -75%")
        assert c["untested"] == ["claim g1: no l4 results"]
        assert c["table"]["columns"] == ["model", "batch", "NVIDIA L4 items/s", "T4 items/s", "ratio", "p50 latency"]
        assert len(c["table"]["rows"]) == 12 and len(c["details"]) == 14  # fp32 and fp16 x 7 batch sizes
    else:
        assert c["measured"] == [] and "no measurement of NVIDIA L4 and T4" in c["finding"]
        assert c["untested"][0].startswith("NVIDIA L4 vs T4 (device): needs rows measured on l4 and t4")


def test_reference_rows_are_labelled_in_the_finding_and_rows_are_one_per_comparison():
    rows = [{**r, "origin": "reference", "reference_date": "2026-11-02"} for d, s in (("l4", 4.0), ("t4", 1.0))
            for r in cnn_rows(d, s)]
    ans = build_answer(build_frame("gpu", GPU_Q), pd.DataFrame(), Bench(pd.DataFrame(rows), load_hardware()))
    assert ans["comparisons"][0]["origin"] == "reference"
    assert ans["comparisons"][0]["finding"].startswith("Reference rows (measured elsewhere, 2026-11-02), not this run")
    table = answer_rows(ans)
    assert table.columns[:7].tolist() == ["study", "comparison", "finding", "measured_evidence", "claims", "conditional",
                                          "untested"]
    assert len(table) == 1 and json.loads(table["measured_evidence"].iloc[0])


def test_a_claimed_budget_measured_here_is_in_the_answer_as_conditional():
    bench = Bench(pd.DataFrame(routing_rows()), load_hardware())
    c = checks(("a1", "UNTESTABLE", "needs the trained AnyExperts checkpoint; conditional: if the claimed 40% fewer "
                "real activations than top-2 holds, latency changes by prefill -30%"))
    c["conditional"] = True
    c["conditional_finding"] = "if the claimed 40% fewer real activations than top-2 holds, latency changes by prefill -30%"
    (top2,) = build_answer(build_frame("routing", ROUTING_Q), c, bench)["comparisons"]
    assert top2["conditional"] and top2["finding"].endswith(
        "Conditional measurement (not a reproduction of the paper): If the claimed 40% fewer real activations than "
        "top-2 holds, latency changes by prefill -30%.")
    assert top2["untested"] == ["claim a1: needs the trained AnyExperts checkpoint"]  # the finding is not cut up


def test_an_entry_named_l4_that_ran_on_a_cpu_answers_nothing_about_an_l4():
    rows = cnn_rows("l4", 4.0) + cnn_rows("t4", 1.0)
    for r in rows:
        if r["device"] == "l4":  # the entry's name says L4; the hardware record says a Xeon
            r.update(gpu_name="", hardware="Intel Xeon Gold 6230", hardware_kind="cpu", cpu_model="Intel Xeon Gold 6230")
    (comp,) = build_answer(build_frame("gpu", GPU_Q), pd.DataFrame(), Bench(pd.DataFrame(rows), load_hardware()))[
        "comparisons"]
    assert comp["measured"] == [] and "(it measured Intel Xeon Gold 6230, NVIDIA T4)" in comp["finding"]
    honest = cnn_rows("l4", 4.0) + cnn_rows("t4", 1.0)  # the same rows recorded on an L4 answer it
    (comp,) = build_answer(build_frame("gpu", GPU_Q), pd.DataFrame(), Bench(pd.DataFrame(honest), load_hardware()))[
        "comparisons"]
    assert comp["measured"] and "4.00x the throughput of T4" in comp["finding"]


CPU_Q = ("How much faster is INT8 than FP32 inference for ResNet models on x86 server CPUs with ONNX Runtime, and how "
         "does ONNX Runtime compare with eager PyTorch across batch sizes?")


def test_the_cpu_answer_covers_both_halves_of_its_and_each_with_a_headline_and_a_table():
    rows = [bench_row("cpu", "resnet18", b, p, n, ips) for b, p, n, ips in (
        ("onnxruntime", "fp32", 1, 40.0), ("onnxruntime", "fp32", 8, 60.0), ("onnxruntime", "int8", 1, 80.0),
        ("onnxruntime", "int8", 8, 150.0), ("torch_eager", "fp32", 1, 30.0), ("torch_eager", "fp32", 8, 38.6))]
    for r in rows[4:]:
        r["memory_format"] = "nchw"  # a PyTorch setting: a backend comparison pairs across it
    ans = build_answer(build_frame("cpu", CPU_Q), pd.DataFrame(), Bench(pd.DataFrame(rows), load_hardware()))
    precision, backend = ans["comparisons"]
    assert precision["headline"] == (
        "On Test CPU (device entry cpu), INT8 runs at 2.00x to 2.50x the throughput of FP32 (ResNet-18 2.50x at batch 8), "
        "with p50 latency -60% to -50%, over batch sizes 1, 8: INT8 is faster in every configuration measured.")
    assert backend["comparison"] == "ONNX Runtime vs eager PyTorch (backend)"
    assert "ONNX Runtime runs at 1.33x to 1.55x the throughput of eager PyTorch" in backend["headline"]
    assert backend["table"]["rows"] == [["ResNet-18", 1, "40", "30", "1.33x", "-25%"],
                                        ["ResNet-18", 8, "60", "38.6", "1.55x", "-36%"]]
    assert ans["answered"] == 2 and ans["summary"][:2] == [precision["headline"], backend["headline"]]


def test_a_question_naming_one_model_and_one_batch_size_mentions_no_other():
    rows = [r for m in ("resnet18", "resnet50") for d, s in (("l4", 4.0), ("t4", 1.0))
            for r in cnn_rows(d, s, batches=(1, 8, 32), model=m)]
    q = "How much faster is FP16 than FP32 for ResNet-50 on the L4 at batch size 1?"
    ans = build_answer(build_frame("gpu", q), pd.DataFrame(), Bench(pd.DataFrame(rows), load_hardware()))
    (c,) = ans["comparisons"]
    text = json.dumps(ans)
    assert c["measured"] and "resnet18" not in text.lower() and "resnet-18" not in text.lower()
    assert "T4" not in text and "/t4/" not in text  # the question names the L4 only
    assert {(d["model"], d["batch_size"], d["device"]) for d in c["details"]} == {("resnet50", 1, "l4")}
    assert "batch 8" not in text and "batch sizes 1:" in c["headline"] and "2.00x" in c["headline"]
