"""Verdicts a referee would sign: one comparison rule, ranges over open dimensions, confirmed measurements,
plausibility per side with a ceiling, CPU threads, batch-range series per memory layout (issue 19)."""
from __future__ import annotations

import pandas as pd
import pytest
from test_verdicts_data import bench_row, claim

from sovereign.verdicts.check import check_frame
from sovereign.verdicts.hardware import load_hardware
from sovereign.verdicts.match import Bench
from sovereign.verdicts.settings import CheckConfig

CONFIRMED = {"repeats": 3, "confirmed": True, "confirm_note": ""}


def run(claims: list[dict], rows: list[dict], **cfg) -> pd.DataFrame:
    bench = Bench(pd.DataFrame(rows), load_hardware())
    return check_frame("t", pd.DataFrame(claims), None, bench, CheckConfig(**cfg)).set_index("claim_id")


def pair_rows(fp32: dict, fp16: dict, device: str = "t4", latency: bool = False) -> list[dict]:
    """FP32 and FP16 rows of ResNet-18 eager per batch size, confirmed; throughput given per batch."""
    return [bench_row(device, "resnet18", "torch_eager", p, b, ips, **CONFIRMED)
            for p, series in (("fp32", fp32), ("fp16", fp16)) for b, ips in series.items()]


FP16_VS_FP32 = dict(subject_device="t4", subject_precision="fp16", baseline_precision="fp32")

# (case, claim fields, rows, expected status, expected contradicted)
RELATIVE = [
    ("at least 20% faster, measured +40%",
     dict(kind="change", metric="throughput", unit="%", value=20, qualifier="at_least", **FP16_VS_FP32),
     pair_rows({1: 100, 8: 500}, {1: 140, 8: 700}), "REPRODUCED", False),
    ("-90% latency, measured -80% (5x, not 10x)",
     dict(kind="change", metric="latency", unit="%", value=-90, qualifier="exact", **FP16_VS_FP32),
     pair_rows({1: 100, 8: 500}, {1: 500, 8: 2500}), "NOT_REPRODUCED", False),
    ("1.6x where one configuration measures 1.6x",
     dict(kind="ratio", metric="throughput", unit="x", value=1.6, qualifier="exact", **FP16_VS_FP32),
     pair_rows({1: 100, 8: 500, 64: 1000}, {1: 110, 8: 550, 64: 1600}), "REPRODUCED", False),
    ("60% more on the same rows: the same status as 1.6x",
     dict(kind="change", metric="throughput", unit="%", value=60, qualifier="exact", **FP16_VS_FP32),
     pair_rows({1: 100, 8: 500, 64: 1000}, {1: 110, 8: 550, 64: 1600}), "REPRODUCED", False),
    ("latency drops from 10 ms to 5 ms, measured exactly",
     dict(kind="change", metric="latency", unit="ms", value_from=10, value_to=5, qualifier="exact", **FP16_VS_FP32),
     pair_rows({1: 100, 8: 500}, {1: 200, 8: 1000}), "REPRODUCED", False),
    ("throughput rises from 100 to 200 images/s, measured exactly",
     dict(kind="change", metric="throughput", unit="images/s", value_from=100, value_to=200, qualifier="exact",
          **FP16_VS_FP32),
     pair_rows({1: 100, 8: 500}, {1: 200, 8: 1000}), "REPRODUCED", False),
    ("up to 1.3x, measured maximum 1.6x: above the claim, not a contradiction",
     dict(kind="ratio", metric="throughput", unit="x", value=1.3, qualifier="up_to", **FP16_VS_FP32),
     pair_rows({1: 100, 8: 500}, {1: 110, 8: 800}), "NOT_REPRODUCED", False),
    ("up to 5x, measured maximum 1.6x: contradicted",
     dict(kind="ratio", metric="throughput", unit="x", value=5.0, qualifier="up_to", **FP16_VS_FP32),
     pair_rows({1: 100, 8: 500}, {1: 110, 8: 800}), "NOT_REPRODUCED", True),
    # a claimed slowdown is a speed-up below 1: its at_most / at_least / up_to speak of the drop
    ("throughput drops by at most 10%, measured -50%",
     dict(kind="change", metric="throughput", unit="%", value=-10, qualifier="at_most", **FP16_VS_FP32),
     pair_rows({1: 100, 8: 500}, {1: 50, 8: 250}), "NOT_REPRODUCED", False),
    ("throughput drops by at most 10%, measured -5%",
     dict(kind="change", metric="throughput", unit="%", value=-10, qualifier="at_most", **FP16_VS_FP32),
     pair_rows({1: 100, 8: 500}, {1: 95, 8: 475}), "REPRODUCED", False),
    ("throughput drops by up to 50%, the worst configuration measures -50%",
     dict(kind="change", metric="throughput", unit="%", value=-50, qualifier="up_to", **FP16_VS_FP32),
     pair_rows({1: 100, 8: 500}, {1: 50, 8: 450}), "REPRODUCED", False),
]


@pytest.mark.parametrize("case,fields,rows,status,contradicted", RELATIVE, ids=[c[0] for c in RELATIVE])
def test_one_comparison_rule_for_every_relative_claim(case, fields, rows, status, contradicted):
    got = run([claim("c", "p1", case, **fields)], rows).loc["c"]
    assert (got["status"], bool(got["contradicted"])) == (status, contradicted), got["reason"]


H200_R50 = [bench_row("h200", "resnet50", "torch_eager", "fp16", 256, 10840.0, **CONFIRMED),
            bench_row("h200", "resnet50", "torch_compile", "fp16", 256, 26430.0, **CONFIRMED)]
H200_CLAIM = dict(kind="absolute", metric="throughput", unit="images/s", subject_device="h200",
                  subject_model="resnet50", subject_precision="fp16", subject_batch="256", qualifier="exact")
# (case, claim fields, expected status, contradicted, words in the reason)
RANGES = [
    ("about 10,500 naming no backend: eager measures 10,840", dict(H200_CLAIM, value=10500), "REPRODUCED", False,
     ["10,840", "26,430"]),
    ("18,000: inside the measured range, no configuration within tolerance", dict(H200_CLAIM, value=18000),
     "NOT_REPRODUCED", False, ["10,840", "26,430"]),
    ("4,000: below every admissible configuration by more than the factor", dict(H200_CLAIM, value=4000),
     "NOT_REPRODUCED", True, ["10,840"]),
    ("a claim naming no model", dict(H200_CLAIM, value=10500, subject_model=None), "UNTESTABLE", False,
     ["names no model"]),
]


@pytest.mark.parametrize("case,fields,status,contradicted,words", RANGES, ids=[c[0] for c in RANGES])
def test_open_dimensions_are_ranges_not_the_best_row(case, fields, status, contradicted, words):
    got = run([claim("a", "p1", case, **fields)], H200_R50).loc["a"]
    assert (got["status"], bool(got["contradicted"])) == (status, contradicted), got["reason"]
    assert all(w in got["reason"] for w in words), got["reason"]


L4_ABS = dict(kind="absolute", metric="throughput", unit="images/s", subject_device="l4", subject_model="resnet18",
              subject_precision="fp16", subject_batch="8", qualifier="exact", value=40000)
# (case, rows, expected status, contradicted, words in the reason)
NOISE = [
    ("a confirmed row far off contradicts",
     [bench_row("l4", "resnet18", "torch_eager", "fp16", 8, 8000.0, **CONFIRMED)], "NOT_REPRODUCED", True, []),
    ("an unconfirmed row never contradicts",
     [bench_row("l4", "resnet18", "torch_eager", "fp16", 8, 8000.0, repeats=3, confirmed=False,
                confirm_note="repeats disagree: spread 40% > 10%")], "NOT_REPRODUCED", False, ["unconfirmed"]),
    ("a row without a repeat record never contradicts",
     [{k: v for k, v in bench_row("l4", "resnet18", "torch_eager", "fp16", 8, 8000.0).items()
       if k not in ("repeats", "confirmed", "confirm_note")}], "NOT_REPRODUCED", False, ["no repeats recorded"]),
    ("two protocols of one point 49% apart decide nothing",
     [bench_row("l4", "resnet18", "torch_eager", "fp16", 8, 40000.0, protocol="stable", **CONFIRMED),
      bench_row("l4", "resnet18", "torch_eager", "fp16", 8, 59600.0, protocol="deepgap", **CONFIRMED)],
     "UNTESTABLE", False, ["protocols", "disagree"]),
]


@pytest.mark.parametrize("case,rows,status,contradicted,words", NOISE, ids=[c[0] for c in NOISE])
def test_a_contradiction_needs_a_confirmed_measurement(case, rows, status, contradicted, words):
    got = run([claim("n", "p1", case, **L4_ABS)], rows).loc["n"]
    assert (got["status"], bool(got["contradicted"])) == (status, contradicted), got["reason"]
    assert all(w in got["reason"] for w in words), got["reason"]


def xeon_rows(threads: int) -> list[dict]:
    """INT8 no faster than FP32 on a Xeon 6980P, measured on `threads` of its 128 cores."""
    return [bench_row("cpu", "resnet50", "onnxruntime", p, b, 50.0 * b, hardware="Intel(R) Xeon(R) 6980P",
                      cpu_model="Intel(R) Xeon(R) 6980P", threads_used=threads, cores_present=128, **CONFIRMED)
            for p in ("fp32", "int8") for b in (1, 8)]


XEON_CLAIM = dict(kind="ratio", metric="throughput", unit="x", value=2.9, qualifier="exact", subject_device="xeon 6980p",
                  subject_model="resnet50", subject_precision="int8", baseline_precision="fp32")
# (case, sentence, rows, expected match, contradicted, words in the reason)
THREADS = [
    ("a whole-socket claim against a 2-thread run: class match, no contradiction",
     "INT8 is 2.9x FP32 on a Xeon 6980P socket.", xeon_rows(2), "class", False, ["2 of 128 cores"]),
    ("a claim on 2 cores against a 2-thread run: exact, and it can contradict",
     "INT8 is 2.9x FP32 on 2 cores of a Xeon 6980P.", xeon_rows(2), "exact", True, []),
    ("a whole-socket claim against a full-socket run: exact", "INT8 is 2.9x FP32 on a Xeon 6980P.",
     xeon_rows(128), "exact", True, []),
]


@pytest.mark.parametrize("case,sentence,rows,match,contradicted,words", THREADS, ids=[c[0] for c in THREADS])
def test_cpu_claims_are_matched_on_the_threads_used(case, sentence, rows, match, contradicted, words):
    got = run([claim("x", "p1", sentence, **XEON_CLAIM)], rows).loc["x"]
    assert (got["match"], bool(got["contradicted"])) == (match, contradicted), got["reason"]
    assert all(w in got["reason"] for w in words), got["reason"]


# (case, claim fields, expected plausibility)
PLAUSIBILITY = [
    ("H200 FP16 against a Xeon 6980P FP32: each side at its own precision",
     dict(kind="ratio", metric="throughput", unit="x", value=100, subject_device="h200", baseline_device="xeon 6980p",
          subject_precision="fp16", baseline_precision="fp32"), "plausible"),
    ("100 us (Greek mu) ResNet-50 latency on an H200 needs 122% of the FP32 peak",
     dict(kind="absolute", metric="latency", unit="\u03bcs", value=100, subject_device="h200", subject_model="resnet50",
          subject_precision="fp32"), "implausible"),
    ("100 us (micro sign) ResNet-50 latency on an H200 needs 122% of the FP32 peak",
     dict(kind="absolute", metric="latency", unit="\u00b5s", value=100, subject_device="h200", subject_model="resnet50",
          subject_precision="fp32"), "implausible"),
    ("50,000 images/s on an H200 needs 610% of the FP32 peak: above 100%, whatever the configured bound",
     dict(kind="absolute", metric="throughput", unit="images/s", value=50000, subject_device="h200",
          subject_model="resnet50", subject_precision="fp32"), "implausible"),
]


@pytest.mark.parametrize("case,fields,plaus", PLAUSIBILITY, ids=[c[0] for c in PLAUSIBILITY])
def test_plausibility_per_side_with_a_ceiling(case, fields, plaus):
    got = run([claim("p", "p1", case, **fields)], [], utilization_bound=1.0, utilization_min=0.0001).loc["p"]
    assert got["plausibility"] == plaus, got["reason"]
    if plaus == "implausible":
        assert "100%" in got["reason"] or "bound" in got["reason"]


def test_batch_range_series_never_mix_memory_layouts():
    # NCHW saturates after batch 16; channels-last keeps rising to 64: two series, two peaks
    nchw = {1: 100, 2: 200, 4: 400, 8: 800, 16: 1600, 32: 1650, 64: 1660}
    cl = {1: 90, 2: 180, 4: 360, 8: 720, 16: 1440, 32: 2880, 64: 5760}
    rows = [bench_row("t4", "resnet18", "torch_eager", "fp16", b, ips, memory_format="nchw", **CONFIRMED)
            for b, ips in nchw.items()] + \
           [bench_row("t4", "resnet18", "torch_eager", "fp16", b, ips, memory_format="channels_last", **CONFIRMED)
            for b, ips in cl.items()]
    c = claim("b", "p1", "efficiency peaks at batch 16-32", kind="batch_range", metric="efficiency", low=16, high=32,
              subject_device="t4")
    got = run([c], rows).loc["b"]
    assert "median of 2 series" in got["reason"], got["reason"]


# (case, count_class_matches, expected contradicted)
CLASS = [("a Xeon claim measured on another CPU of the class decides no contradiction", False, False),
         ("unless class matches count", True, True)]


@pytest.mark.parametrize("case,count,contradicted", CLASS, ids=[c[0] for c in CLASS])
def test_a_class_match_neither_verifies_nor_refutes_by_default(case, count, contradicted):
    rows = [bench_row("cpu", "resnet50", "onnxruntime", p, 8, 50.0, hardware="AMD EPYC 7763", cpu_model="AMD EPYC 7763",
                      **CONFIRMED) for p in ("fp32", "int8")]
    c = claim("k", "p1", "On Xeon processors INT8 is 2.9x FP32.", kind="ratio", metric="throughput", unit="x",
              value=2.9, qualifier="exact", subject_device="xeon", subject_model="resnet50",
              subject_precision="int8", baseline_precision="fp32")
    got = run([c], rows, count_class_matches=count).loc["k"]
    assert got["match"] == "class" and got["status"] == "NOT_REPRODUCED"
    assert bool(got["contradicted"]) == contradicted, got["reason"]


@pytest.mark.parametrize("spread_ms, status", [
    (None, "NOT_REPRODUCED"),  # no repeat record: the tolerance alone (3.6x is 20% above 3x)
    ("100,103,105", "REPRODUCED"),  # each side's repeats spread 5%: 3.6x is within 15% + 10%
    ("100,100.5,101", "NOT_REPRODUCED"),  # tight repeats (1% each) leave the claim outside
])
def test_a_speed_up_is_decided_within_its_repeats_spread(spread_ms, status):
    """Run-to-run noise at the tolerance's edge must not flip 'up to 3x' between runs: the measured speed-up
    is known only to within the repeats' spread of both its rows, which widens the tolerance."""
    extra = {"repeat_medians_ms": spread_ms} if spread_ms else {}
    rows = [bench_row("t4", "resnet18", "torch_eager", "fp32", 8, 100.0, **CONFIRMED, **extra),
            bench_row("t4", "resnet18", "torch_eager", "fp16", 8, 360.0, **CONFIRMED, **extra)]
    c = claim("s", "2401.00001", "FP16 runs up to 3x faster than FP32.", kind="ratio", metric="throughput",
              unit="x", value=3.0, qualifier="up_to", subject_model="resnet18", **FP16_VS_FP32)
    res = run([c], rows).loc["s"]
    assert res["status"] == status, res["reason"]
    assert ("repeats' spread" in res["reason"]) == bool(spread_ms)
    assert not res["contradicted"]


def test_repeats_that_disagree_buy_no_more_than_the_agreement_bound():
    """A row whose repeats spread 47% (unconfirmed) widens the tolerance by 10% at most: 4.5x is not 'up to 2.9x'."""
    wild = {"repeat_medians_ms": "175,186,145", "repeats": 3, "confirmed": False, "confirm_note": "repeats disagree"}
    rows = [bench_row("t4", "resnet18", "torch_eager", "fp32", 8, 100.0, **wild),
            bench_row("t4", "resnet18", "torch_eager", "fp16", 8, 450.0, **wild)]
    c = claim("w", "2401.00001", "FP16 runs up to 2.9x faster than FP32.", kind="ratio", metric="throughput",
              unit="x", value=2.9, qualifier="up_to", subject_model="resnet18", **FP16_VS_FP32)
    res = run([c], rows).loc["w"]
    assert res["status"] == "NOT_REPRODUCED" and "spread 20.0%" in res["reason"], res["reason"]
    assert not res["contradicted"]  # unconfirmed rows never contradict
