"""check_claims: claims against benchmark rows, untestable reasons, plausibility arithmetic, config errors."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from test_verdicts_data import bench_row, claim, cnn_rows

from sovereign.verdicts.check import check_claims, check_frame
from sovereign.verdicts.errors import VerdictConfigError
from sovereign.verdicts.hardware import load_hardware
from sovereign.verdicts.match import Bench
from sovereign.verdicts.settings import CheckConfig, TribunalConfig
from sovereign.warehouse import CONTRACT

RATIO = dict(kind="ratio", metric="throughput", unit="x", subject_device="l4", baseline_device="t4")


def run(claims: list[dict], rows: list[dict], **cfg) -> pd.DataFrame:
    bench = Bench(pd.DataFrame(rows), load_hardware())
    df = check_frame("gpu", pd.DataFrame(claims), None, bench, CheckConfig(**cfg))
    return df.set_index("claim_id")


@pytest.mark.parametrize("claimed,status", [(4.0, "REPRODUCED"), (4.4, "REPRODUCED"), (6.0, "NOT_REPRODUCED"),
                                            (2.0, "NOT_REPRODUCED")])
def test_device_ratio_with_two_devices_is_decided_with_the_measured_ratio(claimed, status):
    rows = cnn_rows("l4", 4.0) + cnn_rows("t4", 1.0)
    got = run([claim("r", "p1", "L4 vs T4", value=claimed, qualifier="exact", **RATIO)], rows).loc["r"]
    assert got["status"] == status
    assert got["measured_value"] == pytest.approx(4.0)
    assert got["claimed_value"] == claimed
    assert got["ratio"] == pytest.approx(4.0 / claimed)
    used = json.loads(got["bench_rows"])
    assert {(u["device"], u["hardware"], u["origin"]) for u in used} == {("l4", "NVIDIA L4", "run"),
                                                                       ("t4", "NVIDIA T4", "run")}
    assert all(u["run_id"] == "testrun00001" for u in used)


def test_ratio_with_one_device_is_untestable_naming_the_missing_one():
    got = run([claim("r", "p1", "L4 vs T4", value=4.4, **RATIO)], cnn_rows("l4", 4.0)).loc["r"]
    assert got["status"] == "UNTESTABLE"
    assert "no t4 results" in got["reason"]
    assert pd.isna(got["measured_value"]) and got["claimed_value"] == 4.4
    got = run([claim("r", "p1", "L4 vs T4", value=4.4, **RATIO)], cnn_rows("t4", 1.0)).loc["r"]
    assert got["status"] == "UNTESTABLE" and "no l4 results" in got["reason"]


def test_unavailable_backend_is_named_with_the_rows_reason():
    rows = cnn_rows("l4", 4.0) + [bench_row("l4", "resnet18", "tensorrt", "int8", 1, None, status="unavailable",
                                            reason="tensorrt is not installed")]
    c = claim("a", "p1", "ResNet-18 INT8 TensorRT on L4 reaches 38,932 images/s", kind="absolute", metric="throughput",
              value=38932, unit="images/s", subject_device="l4", subject_model="resnet18", subject_backend="tensorrt",
              subject_precision="int8")
    got = run([c], rows).loc["a"]
    assert got["status"] == "UNTESTABLE"
    assert got["reason"].startswith("tensorrt unavailable on l4: tensorrt is not installed")
    # the implied utilisation and its arithmetic: 38,932 x 3.63 GFLOP = 141.3 TOPS = 58.4% of 242 TOPS
    assert got["utilization"] == pytest.approx(38932 * 3.63 / 1000 / 242)
    assert got["plausibility"] == "plausible"
    assert "58.4% of the l4 int8 peak 242 TOPS" in got["reason"]


def test_up_to_takes_the_best_over_open_dimensions_and_implausible_numbers_are_flagged():
    rows = cnn_rows("l4", 4.0)  # best: fp16 at batch 64 = 7968.75 items/s
    claims = [claim("u", "p1", "up to 8,000 images/s on L4", kind="absolute", metric="throughput", value=8000,
                    unit="images/s", qualifier="up_to", subject_device="l4", subject_model="resnet18"),
              claim("x", "p1", "ResNet-50 at 90,000 images/s on an L4", kind="absolute", metric="throughput",
                    value=90000, unit="images/s", subject_device="l4", subject_model="resnet50")]
    got = run(claims, rows)
    assert got.loc["u", "status"] == "REPRODUCED"
    assert got.loc["u", "measured_value"] == pytest.approx(7968.75)
    assert json.loads(got.loc["u", "bench_rows"]) == [{"key": "cnn/l4/resnet18/torch_eager/fp16/b64", "origin": "run",
                                                       "hardware": "NVIDIA L4", "device": "l4",
                                                       "run_id": "testrun00001"}]
    assert "best over precision (fp16, fp32); batch (1-64)" in got.loc["u", "reason"]
    assert got.loc["x", "status"] == "UNTESTABLE" and "no resnet50 results on l4" in got.loc["x", "reason"]
    assert got.loc["x", "plausibility"] == "implausible"
    assert got.loc["x", "utilization"] == pytest.approx(90000 * 8.18 / 1000 / 242)
    assert "above the 60% bound" in got.loc["x", "reason"]


@pytest.mark.parametrize("value, expected, needed", [
    (4.4, "plausible", "60% x 1.86 / 4.4 = 25.4% of its peak"),  # above the peak ratio, yet reachable
    (9.0, "questionable", "60% x 1.86 / 9 = 12.4% of its peak, under the 15% floor"),
    (60.0, "implausible", "no pair within [2%, 60%] reaches it (at most 60%/2% x 1.86 = 55.8x)"),
])
def test_device_ratio_is_judged_by_the_utilisations_it_needs(value, expected, needed):
    c = claim("r", "p1", "L4 vs T4 with TensorRT INT8", value=value, subject_precision="int8",
              subject_backend="tensorrt", **RATIO)
    got = run([c], cnn_rows("l4", 4.0) + cnn_rows("t4", 1.0)).loc["r"]
    assert got["plausibility"] == expected
    assert "ratio = (u_l4 x 242) / (u_t4 x 130) int8 peaks; peak ratio 1.86" in got["reason"]
    assert needed in got["reason"]
    assert got["utilization"] == pytest.approx(0.6 * 242 / 130 / value)


def test_speedup_over_cpu_baseline_pairs_batches_and_uses_pytorch_fp32():
    rows = cnn_rows("l4", 4.0) + cnn_rows("cpu", 0.05, precisions=("fp32",)) + \
        [bench_row("cpu", "resnet18", "onnxruntime", "int8", 8, 1.0e6)]  # a CPU INT8 row must not be the baseline
    c = claim("s", "p1", "FP16 up to 160x a CPU baseline", kind="ratio", metric="speedup", value=150, unit="x",
              qualifier="up_to", subject_precision="fp16", baseline_device="cpu")
    got = run([c], rows).loc["s"]
    assert got["status"] == "REPRODUCED"
    assert got["measured_value"] == pytest.approx(160.0)
    assert all("/fp32/" in u["key"] or "/fp16/" in u["key"] for u in json.loads(got["bench_rows"]))


def test_change_from_to_and_batch_range_and_not_empirical():
    rows = cnn_rows("t4", 1.0)
    claims = [claim("c", "p1", "fp16 raises throughput from 428 to 1,198", kind="change", metric="throughput",
                    value_from=428, value_to=856, unit="images/s", subject_device="t4", subject_precision="fp16",
                    baseline_precision="fp32"),
              claim("b", "p1", "efficiency peaks at batch 16-32", kind="batch_range", metric="efficiency", low=16,
                    high=32, subject_device="t4"),
              claim("b2", "p1", "efficiency peaks at batch 1-2", kind="batch_range", metric="efficiency", low=1,
                    high=2, subject_device="t4"),
              claim("n", "p1", "The framework offers practical guidance.", kind="not_empirical")]
    got = run(claims, rows)
    assert got.loc["c", "status"] == "REPRODUCED" and got.loc["c", "measured_value"] == pytest.approx(2.0)
    assert got.loc["b", "status"] == "REPRODUCED" and got.loc["b", "measured_value"] == 32
    assert got.loc["b2", "status"] == "NOT_REPRODUCED"
    assert got.loc["n", "status"] == "NOT_EMPIRICAL"


def _moe_rows(strategies):
    def moe(strategy, batch, act, lat, phase):
        return bench_row("cpu", "tiny_8e", strategy, "fp32", batch, batch / lat * 1000, suite="moe_routing",
                         real_act_per_token=act, phase=phase, dispatch="grouped", workload="vqav2")
    # decode latencies relative to top-2 differ from prefill ones: contexts must never be pooled
    return [moe(s, b, act, lat[ph], ph) for b in (1, 4) for ph in ("prefill", "decode") for s, act, lat in strategies]


MOE = [("topk2", 2.0, {"prefill": 1.0, "decode": 10.0}), ("ondemand", 1.2, {"prefill": 0.8, "decode": 13.0}),
       ("topk1", 1.0, {"prefill": 0.6, "decode": 9.0})]
ACTIVATIONS = claim("a", "p2", "40% fewer real expert activations", kind="change", metric="expert_activations",
                    value=-40, unit="%", subject_method="anyexperts", baseline_method="fixed top-k")


def test_activation_claim_needs_the_trained_checkpoint_and_latency_changes_are_per_phase():
    claims = [ACTIVATIONS,
              claim("l", "p2", "on-demand lowers latency by 20%", kind="change", metric="latency", value=-20, unit="%",
                    subject_method="on-demand routing", baseline_method="top-2")]
    got = run(claims, _moe_rows(MOE))
    assert got.loc["a", "status"] == "UNTESTABLE" and "trained AnyExperts checkpoint" in got.loc["a", "reason"]
    assert pd.isna(got.loc["a", "measured_value"]) and not got.loc["a", "conditional"]
    assert "budget0.6top2 (and topk2)" in got.loc["a", "conditional_finding"]  # says how to measure the budget
    # prefill -20% holds, decode +30% does not: not reproduced, and never a median of the two
    assert got.loc["l", "status"] == "NOT_REPRODUCED" and got.loc["l", "measured_value"] == pytest.approx(30.0)
    assert "decode/vqav2/grouped +30.0% (does not hold), prefill/vqav2/grouped -20.0% (holds)" in got.loc["l", "reason"]
    assert not got.loc["l", "contradicted"] and "not counted as a contradiction" in got.loc["l", "reason"]


def test_claimed_budget_is_measured_conditionally_per_context():
    budget = ("budget0.6top2", 1.2, {"prefill": 0.7, "decode": 10.5})
    got = run([ACTIVATIONS], _moe_rows(MOE + [budget])).loc["a"]
    assert got["status"] == "UNTESTABLE" and got["conditional"]  # conditional, never REPRODUCED
    assert got["conditional_finding"].startswith("if the claimed 40% fewer real activations than top-2 holds")
    assert "decode/vqav2/grouped on Test CPU: +5% over batch 1-4" in got["conditional_finding"]
    assert "prefill/vqav2/grouped on Test CPU: -30% over batch 1-4" in got["conditional_finding"]
    contexts = json.loads(got["conditional_contexts"])
    assert [(c["context"], c["change_pct"]) for c in contexts] == [("decode/vqav2/grouped", [5.0, 5.0]),
                                                                   ("prefill/vqav2/grouped", [-30.0, -30.0])]
    assert any("/budget0.6top2/" in r for r in json.loads(got["conditional_rows"]))


def test_stage_writes_contract_columns(tmp_path):
    from sovereign.io import write_parquet

    write_parquet(tmp_path / "claims.parquet", pd.DataFrame([claim("r", "p1", "L4 vs T4", value=4.0, **RATIO)]))
    write_parquet(tmp_path / "b.parquet", pd.DataFrame(cnn_rows("l4", 4.0) + cnn_rows("t4", 1.0)))
    write_parquet(tmp_path / "moe.parquet", pd.DataFrame(cnn_rows("h200", 40.0)).assign(suite="other"))
    df = check_claims("gpu", str(tmp_path / "claims.parquet"), None,
                      [str(tmp_path / "b.parquet"), str(tmp_path / "moe.parquet")], str(tmp_path / "out.parquet"), ["cnn"])
    back = pd.read_parquet(tmp_path / "out.parquet")
    assert list(CONTRACT["claim_checks"]) == list(back.columns[: len(CONTRACT["claim_checks"])])
    assert df.loc[0, "status"] == "REPRODUCED" and df.loc[0, "evidence_devices"] == "l4,t4"  # other suite left out


@pytest.mark.parametrize("section,raw,key", [
    (CheckConfig, {"tolerance": 2}, "verdicts.tolerance"),
    (CheckConfig, {"tolerence": 0.1}, "verdicts.tolerence"),
    (TribunalConfig, {"min_verified": -1}, "tribunal.min_verified"),
    (TribunalConfig, {"llm": {"enabled": True, "url": "", "model": "m"}}, "tribunal.llm.url"),
])
def test_bad_settings_name_their_key(section, raw, key):
    with pytest.raises(VerdictConfigError, match=key.replace(".", r"\.")):
        section.from_dict(raw)


def test_absolute_figures_need_a_named_device_and_an_identified_cpu():
    rows = cnn_rows("cpu", 0.05, precisions=("fp32",))
    claims = [claim("n", "p1", "ResNet-18 reaches 669 images/s.", kind="absolute", metric="throughput", value=669,
                    unit="images/s", subject_model="resnet18"),
              claim("x", "p1", "A Xeon reaches 669 images/s on ResNet-18.", kind="absolute", metric="throughput",
                    value=669, unit="images/s", subject_device="xeon", subject_model="resnet18"),
              claim("g", "p1", "The Xeon 6 reaches 669 images/s on ResNet-18.", kind="absolute", metric="throughput",
                    value=669, unit="images/s", subject_device="xeon6_6980p", subject_model="resnet18")]
    got = run(claims, rows)
    assert (got["status"] == "UNTESTABLE").all()
    assert "names no device" in got.loc["n", "reason"]
    assert "CPU is not identified ('xeon')" in got.loc["x", "reason"] and "Test CPU" in got.loc["x", "reason"]
    assert got.loc["g", "reason"].startswith("no xeon6_6980p results (the cpu rows were measured on Test CPU)")


def test_a_claim_about_a_cpu_family_is_a_class_match_that_counts_only_when_configured():
    rows = [bench_row("cpu", "resnet50", "onnxruntime", p, b, ips) for p, b, ips in
            (("fp32", 8, 20.0), ("int8", 8, 50.0))]
    for r in rows:
        r.update(hardware="AMD EPYC 9R14 96-Core Processor", cpu_model="AMD EPYC 9R14 96-Core Processor")
    c = claim("x", "p1", "INT8 is 2.5x FP32 for ResNet-50 on a Xeon", kind="ratio", metric="throughput", value=2.5,
              unit="x", subject_device="xeon", subject_model="resnet50", subject_precision="int8",
              baseline_precision="fp32")
    got = run([c], rows).loc["x"]
    assert got["status"] == "REPRODUCED" and got["match"] == "class" and not got["counts_as_verified"]
    assert "match: class: the claim names 'xeon' (class: x86 server CPU), measured on AMD EPYC 9R14" in got["reason"]
    assert run([c], rows, count_class_matches=True).loc["x", "counts_as_verified"]
    exact = claim("e", "p1", "INT8 is 2.5x FP32 for ResNet-50 on an L4", kind="ratio", metric="throughput", value=2.5,
                  unit="x", subject_device="l4", subject_model="resnet50", subject_precision="int8",
                  baseline_precision="fp32")
    assert run([exact], rows).loc["e", "match"] == "exact"
    # an Arm CPU is no x86 server CPU: the family never admits it
    for r in rows:
        r.update(hardware="Neoverse-V2", cpu_model="Neoverse-V2")
    assert run([c], rows).loc["x", "status"] == "UNTESTABLE"


def test_a_headline_ratio_is_taken_within_one_configuration_never_across_devices():
    rows = [bench_row("cpu", "resnet18", "onnxruntime", "fp32", 8, 100.0), bench_row("cpu", "resnet18", "torch_eager", "fp32", 8, 500.0),
            bench_row("h200", "resnet18", "onnxruntime", "fp32", 8, 1000.0), bench_row("h200", "resnet18", "torch_eager", "fp32", 8, 200.0)]
    c = claim("o", "p1", "ONNX Runtime is 2x eager PyTorch", kind="ratio", metric="throughput", value=2.0, unit="x",
              subject_backend="onnxruntime", baseline_backend="pytorch")
    got = run([c], rows).loc["o"]
    # the best ONNX Runtime row (h200, 1000) against the eager row of the same device (200): 5x, not 1000/500
    assert got["status"] == "NOT_REPRODUCED" and got["measured_value"] == pytest.approx(5.0)


def test_a_claim_about_a_gpu_in_general_is_a_class_match_and_a_claim_without_a_value_is_untestable():
    rows = cnn_rows("l4", 4.0)
    g = claim("g", "p1", "FP16 doubles FP32 throughput on GPUs", kind="ratio", metric="throughput", value=2.0, unit="x",
              subject_device="gpu", subject_precision="fp16", baseline_precision="fp32")
    got = run([g], rows).loc["g"]
    assert got["status"] == "REPRODUCED" and got["match"] == "class" and not got["counts_as_verified"]
    n = claim("n", "p1", "FP16 is faster than FP32 on the L4", kind="ratio", metric="throughput", value=None, unit="x",
              subject_device="l4", subject_precision="fp16", baseline_precision="fp32")
    got = run([n], rows).loc["n"]
    assert got["status"] == "UNTESTABLE" and "states no single value" in got["reason"]


def test_a_study_listing_no_suite_is_checked_against_every_suite(tmp_path):
    """A run benchmarks every suite when no study lists one (rules/common.smk): its rows must then count."""
    from sovereign.verdicts.check import read_bench

    path = tmp_path / "rows.parquet"
    pd.DataFrame([bench_row("cpu", "resnet18", "torch_eager", "fp32", 8, 100.0)]).to_parquet(path)
    assert len(read_bench([str(path)], [])) == 1 and len(read_bench([str(path)], None)) == 1
    assert read_bench([str(path)], ["llm"]).empty
