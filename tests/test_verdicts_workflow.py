"""The whole workflow on a crafted study: a routing question whose corpus holds only GPU benchmarking papers."""
from __future__ import annotations

import json
from pathlib import Path

import yaml
from workflow import snakemake, write_config

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
    cfg["report"]["committed_results"] = ""
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
