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


def test_routing_answer_states_on_demand_against_top2_and_top1_by_phase_with_the_numbers():
    bench = Bench(pd.DataFrame(routing_rows()), load_hardware())
    ans = build_answer(build_frame("routing", ROUTING_Q), checks(("a1", "UNTESTABLE", "needs the trained router")), bench)
    top2, top1 = ans["comparisons"]
    assert (top2["comparison"], top1["comparison"]) == ("on-demand vs top-2 routing", "on-demand vs top-1 routing")
    assert ("In prefill, on-demand's p50 latency is +20% against top-2 over batch sizes 1, 4 (vqav2), "
            "3 to 12 ms per layer against 2.5 to 10 ms; it activates -30% real experts per token relative to top-2 "
            "(1.40 against 2.00), so fewer real activations do not show as lower latency") in top2["finding"]
    assert "In decode, on-demand's p50 latency is -10% against top-2" in top2["finding"]
    assert "so latency moves with the activations" in top2["finding"].split("In decode")[1]
    assert top2["finding"].startswith("On Test CPU (device entry cpu), grouped dispatch")
    assert "+100% against top-1" in top1["finding"]  # prefill 6 ms vs 3 ms
    assert top2["claims"] == [{"claim_id": "a1", "status": "UNTESTABLE", "reason": "needs the trained router",
                               "conditional_finding": None}]
    assert "Conditional measurement" not in top2["finding"]
    assert top2["untested"] == ["claim a1: needs the trained router"]
    assert len(top2["details"]) == 4 and {d["phase"] for d in top2["details"]} == {"prefill", "decode"}
    assert "moe_routing/cpu/tiny_8e/ondemand/fp32/b4/vqav2/prefill/grouped" in top2["measured"]


def test_routing_answer_is_given_per_device_never_pooled():
    rows = routing_rows() + routing_rows("h200", "NVIDIA H200", scale=0.1)
    ans = build_answer(build_frame("routing", ROUTING_Q), pd.DataFrame(), Bench(pd.DataFrame(rows), load_hardware()))
    names = [c["comparison"] for c in ans["comparisons"]]
    assert names == ["on-demand vs top-2 routing on Test CPU (device entry cpu)",
                     "on-demand vs top-1 routing on Test CPU (device entry cpu)",
                     "on-demand vs top-2 routing on NVIDIA H200 (device entry h200)",
                     "on-demand vs top-1 routing on NVIDIA H200 (device entry h200)"]
    h200 = ans["comparisons"][2]
    assert all("/h200/" in k for k in h200["measured"]) and "0.3 to 1.2 ms per layer" in h200["finding"]


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
    assert c["comparison"] == "l4 vs t4 (device)"
    if answered:
        assert c["finding"].startswith("On NVIDIA L4, NVIDIA T4 (device entry l4, t4), l4 reaches 4.00x the throughput")
        assert c["untested"] == ["claim g1: no l4 results"]
    else:
        assert c["measured"] == [] and "no measurement of l4 and t4" in c["finding"]
        assert c["untested"][0].startswith("l4 vs t4 (device): needs rows measured on l4 and t4")


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
    top2 = build_answer(build_frame("routing", ROUTING_Q), c, bench)["comparisons"][0]
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
    assert comp["measured"] == [] and "no measurement of l4" in comp["finding"]
    honest = cnn_rows("l4", 4.0) + cnn_rows("t4", 1.0)  # the same rows recorded on an L4 answer it
    (comp,) = build_answer(build_frame("gpu", GPU_Q), pd.DataFrame(), Bench(pd.DataFrame(honest), load_hardware()))[
        "comparisons"]
    assert comp["measured"] and "4.00x the throughput of t4" in comp["finding"]
