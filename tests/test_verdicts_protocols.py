"""A claim is checked against rows of the protocol its paper states, when they exist; the reason names it."""
from __future__ import annotations

import pandas as pd
import pytest
from test_verdicts_data import bench_row, claim

from sovereign.verdicts.check import check_frame
from sovereign.verdicts.hardware import load_hardware
from sovereign.verdicts.match import Bench
from sovereign.verdicts.protocols import choose_protocol, stated_protocol
from sovereign.verdicts.settings import CheckConfig


def rows(protocols: dict) -> list[dict]:
    out = []
    for protocol, ips in protocols.items():
        r = bench_row("l4", "resnet18", "tensorrt", "fp16", 8, ips)
        r["protocol"] = protocol
        out.append(r)
    return out


def absolute(paper: str, sentence: str = "ResNet-18 FP16 TensorRT on an L4 reaches 1000 images/s") -> dict:
    return claim("a", paper, sentence, kind="absolute", metric="throughput", value=1000, unit="images/s",
                 subject_device="l4", subject_model="resnet18", subject_backend="tensorrt", subject_precision="fp16",
                 subject_batch="8", qualifier="approx")


def check(claims, bench_rows):
    bench = Bench(pd.DataFrame(bench_rows), load_hardware())
    return check_frame("gpu", pd.DataFrame(claims), None, bench, CheckConfig()).set_index("claim_id").loc["a"]


def test_stated_protocol_from_field_paper_and_words():
    assert stated_protocol({"protocol": "MLPerf"}) == "mlperf"
    assert stated_protocol({"paper_id": "2604.14552v2"}) == "deepgap"
    assert stated_protocol({"paper_id": "x", "sentence": "Under the MLPerf single-stream scenario ..."}) == "mlperf"
    assert stated_protocol({"paper_id": "1512.03385", "sentence": "ResNet-50 reaches 76% top-1"}) is None


def test_choose_protocol_prefers_the_papers_then_stable():
    s = pd.Series(["stable", "deepgap", None])
    assert choose_protocol(s, "deepgap") == ("deepgap", "protocol deepgap, as the paper states")
    assert choose_protocol(s, "mlperf") == ("stable", "protocol stable: no mlperf rows for the paper's protocol")
    assert choose_protocol(s, None) == ("stable", "protocol stable")
    assert choose_protocol(pd.Series([], dtype=object), "mlperf") == (None, "")


@pytest.mark.parametrize("paper,protocol,measured", [("2604.14552", "deepgap", 1000.0), ("1512.03385", "stable", 950.0),
                                                     ("1911.02549", "stable", 950.0)])
def test_check_uses_the_papers_protocol_rows(paper, protocol, measured):
    got = check([absolute(paper)], rows({"stable": 950.0, "deepgap": 1000.0}))
    assert got["measured_value"] == pytest.approx(measured)
    assert f"protocol {protocol}" in got["reason"]
    assert got["status"] == "REPRODUCED"


@pytest.mark.parametrize("paper", ["2604.14552", "1512.03385"])
def test_protocols_that_disagree_beyond_the_tolerance_decide_nothing(paper):
    got = check([absolute(paper)], rows({"stable": 500.0, "deepgap": 1000.0}))
    assert got["status"] == "UNTESTABLE" and not got["contradicted"]
    assert "the point decides nothing: its protocols disagree" in got["reason"] and "100% apart" in got["reason"]


def test_rows_without_a_protocol_column_count_as_stable():
    plain = [bench_row("l4", "resnet18", "tensorrt", "fp16", 8, 990.0)]
    got = check([absolute("2604.14552")], plain)
    assert got["measured_value"] == pytest.approx(990.0)
    assert "protocol stable: no deepgap rows for the paper's protocol" in got["reason"]
