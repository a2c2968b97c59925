"""`sovereign check`: a sentence checked against the smallest benchmark grid run here (real harness, real CPU);
a claim naming the measured CPU by its model resolves to the rows' recorded hardware."""
from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from sovereign.claims.parse import SentenceParser
from sovereign.claims.vocab import load_vocab
from sovereign.checkone.plan import plan_checks
from sovereign.config import load_config
from sovereign.verdicts.check import Bench, check_frame
from sovereign.verdicts.hardware import load_hardware, resolve_named_cpus
from sovereign.verdicts.settings import CheckConfig
from workflow import ROOT

SENTENCE = "ResNet-18 FP32 inference with PyTorch reaches 500 images/s at batch size 8"


def _check(tmp_path, *args, timeout=600):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "sovereign.cli", "check", *args, "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=timeout, cwd=tmp_path, env=env)


def _claims(*sentences):
    parser = SentenceParser(load_vocab())
    out = []
    for s in sentences:
        for row in parser.parse(s):
            out.append({**row, "claim_id": f"c{len(out) + 1}", "paper_id": "sentence", "study": "check"})
    return out


def test_the_sentence_plans_one_job_at_its_batch_size():
    plan = plan_checks(_claims(SENTENCE), load_config(), "cpu", load_hardware())
    assert plan.jobs == {("resnet18", "torch_eager", "fp32"): {8}} and not plan.untestable
    ratio = plan_checks(_claims("ResNet-50 INT8 with ONNX Runtime is 2.5x faster than FP32 on the CPU."),
                        load_config(), "cpu", load_hardware())
    assert set(ratio.jobs) == {("resnet50", "onnxruntime", "int8"), ("resnet50", "onnxruntime", "fp32")}


@pytest.mark.slow
def test_check_runs_prints_its_arithmetic_and_exits_with_its_status(tmp_path):
    res = _check(tmp_path, SENTENCE, "--device", "cpu", "--time-budget", "1")
    out = res.stdout
    assert res.returncode in (0, 1), res.stderr[-3000:]
    status = "REPRODUCED" if res.returncode == 0 else "NOT_REPRODUCED"
    assert out.startswith(f"[{status}] {SENTENCE}")  # the exit status is the check's
    assert "arithmetic: measured " in out and " / claimed 500 = " in out and "tolerance 0.15" in out
    assert "row used: cnn/cpu/resnet18/torch_eager/fp32/b8" in out
    rows_file = tmp_path / "out/cnn/cpu/resnet18__torch_eager__fp32.parquet"
    assert str(rows_file) in out and str(tmp_path / "out/claim_checks.parquet") in out
    assert "benchmark jobs" in res.stderr  # the progress bar
    rows = pd.read_parquet(rows_file)
    assert rows["batch_size"].tolist() == [8] and rows["status"].tolist() == ["ok"]
    # the same claim at the value just measured, with a wide tolerance: reproduced, exit 0
    measured = float(rows["throughput_ips"].iloc[0])
    (tmp_path / "wide.yaml").write_text(yaml.safe_dump({"verdicts": {"tolerance": 0.9}}), encoding="utf-8")
    again = _check(tmp_path, SENTENCE.replace("500", f"{measured:.0f}"), "--config", str(tmp_path / "wide.yaml"),
                   "--time-budget", "1")
    assert again.returncode == 0 and again.stdout.startswith("[REPRODUCED]"), again.stdout + again.stderr[-2000:]


def test_untestable_claims_say_what_would_test_them_and_errors_exit_2(tmp_path):
    res = _check(tmp_path, "Llama-2 7B reaches 50 tokens/s on an A100.")
    assert res.returncode == 0 and "[UNTESTABLE]" in res.stdout
    assert "would test it:" in res.stdout and "cnn" not in os.listdir(tmp_path / "out")  # nothing was run
    bad = _check(tmp_path, SENTENCE, "--device", "a100")
    assert bad.returncode == 2 and "--device 'a100' names no entry under devices" in bad.stderr


def _rows(hardware: str, ips: float) -> pd.DataFrame:
    return pd.DataFrame([{"suite": "cnn", "device": "cpu", "model": "resnet18", "backend": "torch_eager",
                          "precision": "fp32", "batch_size": 8, "status": "ok", "throughput_ips": ips,
                          "latency_ms_p50": 8000 / ips, "hardware": hardware, "hardware_kind": "cpu",
                          "cpu_model": hardware, "origin": "run"}])


@pytest.mark.parametrize("sentence,hardware", [
    ("ResNet-18 FP32 inference with PyTorch reaches 40 images/s at batch size 8 on the AMD EPYC CPU.", "AMD EPYC"),
    ("On the Xeon Gold 6430, ResNet-18 FP32 inference with PyTorch reaches 40 images/s at batch size 8.",
     "Intel(R) Xeon(R) Gold 6430"),
])
def test_a_claim_naming_the_measured_cpu_resolves_to_its_rows(sentence, hardware):
    claims = pd.DataFrame(_claims(sentence))
    hw = load_hardware()
    conf = CheckConfig.from_dict({})
    checks = check_frame("check", claims, None, Bench(_rows(hardware, 41.0), hw), conf)
    assert checks["status"].tolist() == ["REPRODUCED"], checks["reason"].tolist()
    assert "not identified" not in checks["reason"].iloc[0]
    # another CPU's rows: the claim stays unidentified (it is not about them)
    other = check_frame("check", claims, None, Bench(_rows("Intel(R) Xeon(R) Platinum 8480+", 41.0), hw), conf)
    assert other["status"].tolist() != ["REPRODUCED"] or "class" in str(other["match"].iloc[0])
    _, resolved = resolve_named_cpus(hw, claims, [hardware])
    assert resolved["subject_device"].iloc[0].startswith("cpu_")


def test_a_papers_gpu_claims_on_the_cpu_say_what_would_test_them(tmp_path):
    res = _check(tmp_path, "--paper", "2604.14552", "--device", "cpu")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "The L4 delivers up to 4.4x the throughput of the T4." in res.stdout
    assert "would test it: names l4, t4; a run with --device set to a device entry of that hardware" in res.stdout
    assert "would test it: compares an accelerator with a CPU baseline" in res.stdout
    assert "cnn" not in os.listdir(tmp_path / "out")  # nothing on this CPU tests a GPU paper: nothing ran
    missing = _check(tmp_path, "--paper", "2604.99999")
    assert missing.returncode == 2 and "pinned paper 2604.99999 not found in the offline corpus" in missing.stderr
    both = _check(tmp_path, SENTENCE, "--paper", "2604.14552")
    assert both.returncode == 2 and "one sentence or --paper" in both.stderr


def test_a_live_paper_is_fetched_by_id_with_its_pdf(tmp_path, arxiv_server):
    from conftest import SAMPLE_RECORDS
    from test_literature import _pdf_with_text

    arxiv_server.records = {r["id"]: dict(r) for r in SAMPLE_RECORDS}
    arxiv_server.pdfs = {"2604.14552v1": _pdf_with_text("The L4 delivers 3.1x the throughput of the T4.")}
    cfg = {"literature": {"source": "arxiv", "arxiv": {"base_url": arxiv_server.url, "delay_s": 0, "retries": 0,
                                                       "timeout_s": 5, "cache_dir": str(tmp_path / "c")},
                          "fulltext": {"cache_dir": str(tmp_path / "ft")}}}
    (tmp_path / "live.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    res = _check(tmp_path, "--paper", "2604.14552", "--config", str(tmp_path / "live.yaml"))
    assert res.returncode == 0, res.stderr[-2000:]
    assert [r["id_list"] for r in arxiv_server.requests] == [["2604.14552"]]
    assert "[UNTESTABLE] The L4 delivers 3.1x the throughput of the T4." in res.stdout  # read from the PDF
