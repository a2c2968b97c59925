"""The whole workflow on a crafted study: a routing question whose corpus holds only GPU benchmarking papers."""
from __future__ import annotations

import json
from pathlib import Path

import yaml
from workflow import planned_jobs, snakemake, write_config

from sovereign.warehouse import query

ROOT = Path(__file__).resolve().parent.parent
GPU_ONLY_CORPUS = [
    {"id": "2604.14552", "title": "DEEP-GAP: Deep-learning Evaluation of Execution Parallelism in GPU Architectural "
     "Performance", "authors": ["Kathiravan Palaniappan"], "published": "2026-04-16", "categories": ["cs.PF"],
     "abstract": "Compares NVIDIA T4 and L4 inference GPUs on ResNet-18, ResNet-50 and ResNet-101 across precisions "
     "and batch sizes. L4 throughput is up to 4.4 times the T4, and INT8 throughput is up to 58 times a CPU "
     "baseline. Inference latency and throughput are measured for batch sizes 1 to 512."},
    {"id": "1903.07486", "title": "Dissecting the NVidia Turing T4 GPU via Microbenchmarking", "authors": ["Zhe Jia"],
     "published": "2019-03-18", "categories": ["cs.DC"],
     "abstract": "Microbenchmarks of the T4 GPU memory hierarchy and tensor cores, measuring inference latency and "
     "throughput across batch sizes."},
    {"id": "1911.02549", "title": "MLPerf Inference Benchmark", "authors": ["Vijay Janapa Reddi"],
     "published": "2019-11-06", "categories": ["cs.LG"],
     "abstract": "A benchmark of inference latency and throughput; on a T4, ResNet-50 reaches 6,036 images per second "
     "with TensorRT INT8 across batch sizes."},
]
ROUTING_Q = ("How does the inference latency and throughput of AnyExperts' on-demand routing strategy compare to "
             "fixed routing baselines (e.g., top-k routing) across varying batch sizes on standard multimodal "
             "benchmarks like VQAv2 and Visual7W?")


def test_routing_question_answered_by_gpu_papers_is_rejected_for_topic_drift(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in GPU_ONLY_CORPUS), encoding="utf-8")
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["studies"] = {"routing": {"question": ROUTING_Q, "queries": [], "suites": ["moe_routing"]}}
    cfg["literature"]["snapshot_path"] = str(corpus)
    cfg["embeddings"]["backend"] = "none"
    cfg["bench"]["devices"] = []  # no measurements: the decision must come from the drift alone
    cfg["report"]["images"] = False
    write_config(tmp_path, cfg)
    res = snakemake(tmp_path, timeout=1200)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    verdict = json.loads((tmp_path / "results" / "routing" / "verdict.json").read_text())
    assert verdict["decision"] == "REJECT"
    assert verdict["reasons"][0].startswith("topic drift")
    rows = query(str(tmp_path / "results" / "sovereign.duckdb"), "SELECT * FROM study_verdict")
    assert rows.decision.tolist() == ["REJECT"] and "topic drift" in rows.reasons[0]
    html = (tmp_path / "results" / "report" / "routing.html").read_text(encoding="utf-8")
    assert "REJECT" in html and "topic drift" in html


H200 = ROOT / "benchmarks" / "results" / "h200"


def test_reference_results_are_read_only_when_listed_and_labelled_with_their_date(tmp_path):
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["studies"] = {"gpu": cfg["studies"]["gpu"]}
    cfg["embeddings"]["backend"] = "none"
    cfg["claims"]["use_embeddings"] = False
    cfg["bench"]["devices"] = []  # every measurement here is a reference one
    cfg["report"]["images"] = False
    cfg["tribunal"]["requery_max"] = 0
    write_config(tmp_path, cfg)
    assert "read_reference_results" not in planned_jobs(tmp_path)  # the default reads no reference results
    cfg["verdicts"]["reference_results"] = [str(H200 / "cnn_resnet18_h200.csv"), str(H200 / "cnn_resnet50_h200.csv")]
    write_config(tmp_path, cfg)
    res = snakemake(tmp_path, timeout=1200)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    db = str(tmp_path / "results" / "sovereign.duckdb")
    rows = query(db, "SELECT origin, hardware, reference_date, count(*) AS n FROM bench_results GROUP BY ALL "
                     "ORDER BY reference_date").to_dict("records")
    assert rows == [{"origin": "reference", "hardware": "NVIDIA H200", "reference_date": "2026-11-29T05:50:45Z", "n": 99},
                    {"origin": "reference", "hardware": "NVIDIA H200", "reference_date": "2026-11-29T05:52:13Z", "n": 99}]
    checks = query(db, "SELECT status, reason FROM claim_checks")
    assert "REPRODUCED" not in set(checks.status) and "NOT_REPRODUCED" not in set(checks.status)
    # the gpu study's on-frame claims are about an L4 and a T4, which no reference row measured; a claim that
    # only reference rows speak to, and what its reason says, is tested in test_verdicts_provenance.py
    assert checks.reason.str.contains("no l4 results").any()
    html = (tmp_path / "results" / "report" / "gpu.html").read_text(encoding="utf-8")
    assert "Reference measurements (2026-11-29T05:50:45Z): NVIDIA H200" in html
    assert "origin <code>reference</code>" in html and "cnn_resnet50_h200.csv" in html
    md = (tmp_path / "results" / "report" / "gpu.md").read_text(encoding="utf-8")
    assert md.count("Reference measurement (origin") == 2 and "measured 2026-11-29T05:52:13Z" in md
