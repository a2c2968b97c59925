"""The report at 1280 px in real headless Chromium: tables within the page, answer and verdict on the first
screen, claims shown by their words, charts only of rows that bear on the question; and the committed
screenshots of the three default reports with what Chromium measured on them."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import yaml
from test_verdicts_answer import routing_rows
from test_verdicts_data import GPU_PAPERS, bench_row, claim, write_study

from sovereign.report.layout import measure, problems
from sovereign.report.render_html import render_report
from sovereign.verdicts.check import check_claims
from sovereign.verdicts.frame import frame_study
from sovereign.verdicts.tribunal import run_tribunal
from sovereign.verdicts.views import verdict_views
from sovereign.warehouse import load_warehouse

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = {s: v["question"] for s, v in yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["studies"].items()}
SHOTS = ROOT / "docs" / "screenshots"
LONG = ("INT8 inference with calibrated per-channel weights and ONNX Runtime's optimised kernels cuts the latency of "
        "ResNet-50 by up to 3x against FP32 on the Xeon servers we measured, at every batch size from 1 to 64 "
        "with no loss of top-1 accuracy")


def _cpu_rows() -> list[dict]:
    rows = []
    for model, scale in (("resnet18", 1.0), ("resnet50", 0.4)):
        for backend, precision, k in (("onnxruntime", "fp32", 40), ("onnxruntime", "int8", 90), ("torch_eager", "fp32", 30)):
            for b in (1, 8):
                rows.append(bench_row("cpu", model, backend, precision, b, k * scale * (1 + b / 16),
                                      hardware="AMD EPYC 7B13", cpu_model="AMD EPYC 7B13",
                                      memory_format="nchw" if backend == "torch_eager" else None))
    return rows


STUDIES = {
    "cpu": ([claim(f"x{i}", "2602.16858", f"{LONG} (case {i}).", kind="ratio", metric="throughput", value=2.2 + i / 10,
                   unit="x", subject_device="xeon", subject_model="resnet50", subject_precision="int8",
                   baseline_precision="fp32", subject_backend="onnxruntime") for i in range(4)]
            + [claim("n1", "2602.16858", "INT8 is 2x FP32.", kind="ratio", metric="throughput", value=2.0, unit="x",
                     subject_precision="int8", baseline_precision="fp32")],
            {"cnn_cpu": _cpu_rows()}, ["cnn"]),
    "gpu": ([claim("g1", "2604.14552", "L4 throughput is up to 4.4 times the T4.", kind="ratio", metric="throughput",
                   value=4.4, unit="x", qualifier="up_to", subject_device="l4", baseline_device="t4")],
            {"cnn_cpu": _cpu_rows()}, ["cnn"]),
    "routing": ([claim("a1", "2511.18314", "AnyExperts uses 40% fewer real expert activations than top-k routing.",
                       kind="change", metric="expert_activations", value=-40, unit="%", subject_method="anyexperts",
                       baseline_method="fixed top-k")],
                {"moe": routing_rows()}, ["moe_routing"]),
}


def build_report(tmp_path: Path, study: str) -> Path:
    """One default study through the stages in DAG order into a warehouse, then its HTML report."""
    claims, bench, suites = STUDIES[study]
    q = QUESTIONS[study]
    paths = write_study(tmp_path, study, q, GPU_PAPERS, claims, bench)
    d = tmp_path / "results" / study
    frame_study(study, q, paths["claims"], paths["papers"], str(d / "frame.json"), str(d / "on.parquet"),
                str(d / "frames.parquet"), fulltext_path=paths["fulltext"])
    check_claims(study, str(d / "on.parquet"), paths["support"], paths["bench"], str(d / "cc.parquet"), suites)
    run_tribunal(study, q, paths["screening"], paths["papers"], str(d / "on.parquet"), str(d / "cc.parquet"),
                 paths["bench"], suites, str(d / "verdict.json"), str(d / "tr.parquet"), str(d / "v.parquet"),
                 str(d / "ccf.parquet"), support_path=paths["support"], fulltext_path=paths["fulltext"],
                 frame_path=str(d / "frame.json"), out_answer=str(d / "answer.json"), out_answers=str(d / "a.parquet"))
    db = tmp_path / "w.duckdb"
    load_warehouse(str(db), {"papers": [paths["papers"]], "queries": [paths["queries"]], "claims": [paths["claims"]],
                             "claim_support": [paths["support"]], "bench_results": paths["bench"],
                             "claim_checks": [str(d / "ccf.parquet")], "tribunal_reviews": [str(d / "tr.parquet")],
                             "verdicts": [str(d / "v.parquet")], "answers": [str(d / "a.parquet")]}, "t",
                   views=verdict_views())
    out = tmp_path / "report" / f"{study}.html"
    render_report(str(db), study, q, paths["screening"], str(out), suites=suites, images=False,
                  cache_dir=str(tmp_path / "cache"), frame_path=str(d / "frame.json"))
    return out


@pytest.mark.parametrize("study", ["cpu", "gpu", "routing"])
def test_a_default_report_fits_1280_px_and_shows_answer_verdict_and_claims_by_their_words(tmp_path, study):
    m = measure(build_report(tmp_path, study), 1280, 900)
    assert problems(m) == [], m
    assert m["answer"]["top"] < m["verdict"]["top"] < m["viewport"][1]  # the first screen
    if study == "cpu":  # both halves of the question's "and", each with its number
        assert "INT8 vs FP32 (precision): On AMD EPYC 7B13" in m["answer_text"]
        assert "ONNX Runtime vs eager PyTorch (backend): On AMD EPYC 7B13" in m["answer_text"]
        assert m["claim_rows"] == 4 and m["claim_rows_with_words"] == m["claim_rows"]
    if study == "gpu":  # the question is about L4 and T4: no chart of the CPU rows, only claims and tribunal
        assert len(m["charts"]) <= 2 and "no measurement of NVIDIA L4 and T4" in m["answer_text"]
    if study == "routing":
        assert m["answer_text"].count("on-demand routing's p50 latency") == 1


def test_a_table_wider_than_the_page_and_a_late_verdict_are_problems():
    m = {"viewport": [1280, 900], "page_width": 1400, "charts": [], "claim_rows": 10, "claim_rows_with_words": 8,
         "tables": [{"right": 1390, "scroll_width": 1300, "client_width": 1200}],
         "answer": {"top": 100}, "verdict": {"top": 1200}}
    found = problems(m)
    assert len(found) == 4 and "table 0 ends at 1390 px" in found[1] and "verdict starts at 1200 px" in found[2]
    assert found[3] == "only 8 of 10 checked claims are shown by their words"


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_committed_screenshots_of_the_three_default_reports_were_measured_clean():
    layout = json.loads((SHOTS / "layout.json").read_text())
    assert sorted(layout) == ["cpu", "gpu", "routing"]
    for study, m in layout.items():
        assert _png_size(SHOTS / f"{study}.png") == (1280, 900)
        assert m["problems"] == [] and m["page_width"] <= 1280 and m["widest_table_right"] <= 1280
        assert m["verdict"]["top"] < m["viewport"][1] and m["claim_rows_with_words"] >= 0.9 * m["claim_rows"]
    cpu = layout["cpu"]["answer_text"]
    assert "INT8 vs FP32 (precision): On" in cpu and "ONNX Runtime vs eager PyTorch (backend): On" in cpu
