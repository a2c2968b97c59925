"""Builders for verdict tests: a study's stage outputs written as the real stages write them (no tests here)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from sovereign.io import write_json, write_parquet
from sovereign.warehouse import CONTRACT

CLAIM_COLS = list(CONTRACT["claims"]) + ["value_from", "value_to", "low", "high"]
BENCH_COLS = list(CONTRACT["bench_results"])

GPU_PAPERS = [
    {"paper_id": "2604.14552", "title": "DEEP-GAP: Deep-learning Evaluation of Execution Parallelism in GPU "
     "Architectural Performance", "abstract": "Compares NVIDIA T4 and L4 inference GPUs on ResNet-18, ResNet-50 and "
     "ResNet-101 in FP32, FP16 and INT8 across batch sizes 1 to 512. L4 throughput is up to 4.4 times the T4. "
     "INT8 calibration uses random data.", "kept": True},
    {"paper_id": "1903.07486", "title": "Dissecting the NVidia Turing T4 GPU via Microbenchmarking",
     "abstract": "Microbenchmarks of the T4 GPU memory hierarchy and tensor cores for inference.", "kept": True},
    {"paper_id": "2602.16858", "title": "GDEV-AI: CPU inference benchmarking of ResNet models",
     "abstract": "CPU-only PyTorch inference of ResNet models across threads and batch sizes.", "kept": True},
]


def paper_frame(study: str, papers: list[dict]) -> pd.DataFrame:
    """papers.parquet rows with the columns screen_papers writes."""
    rows = []
    for p in papers:
        rows.append({"study": study, "paper_id": p["paper_id"], "title": p["title"], "authors": p.get("authors", [f"Author of {p['paper_id']}"]),
                     "published": p.get("published", "2024-01-01"), "categories": ["cs.PF"], "abstract": p["abstract"],
                     "pdf_url": "", "has_full_text": False, "source": "snapshot",
                     "text_origin": p.get("text_origin", "snapshot"), "query_ids": ["q0000000001"],
                     "best_rank": 1, "relevance_tfidf": 0.3 if p.get("kept", True) else 0.01,
                     "relevance_embedding": 0.6 if p.get("kept", True) else 0.1, "kept": p.get("kept", True),
                     "drift": not p.get("kept", True)})
    return pd.DataFrame(rows)


def claim(claim_id: str, paper_id: str, sentence: str, **fields) -> dict:
    """A claims.parquet row; unspecified fields are empty."""
    row = {c: None for c in CLAIM_COLS}
    row.update({"claim_id": claim_id, "paper_id": paper_id, "sentence": sentence, "qualifier": "exact",
                "text_origin": "snapshot"})
    row.update(fields)
    return row


def bench_row(device: str, model: str, backend: str, precision: str, batch: int, ips: float | None,
              status: str = "ok", reason: str = "", suite: str = "cnn", **extra) -> dict:
    """A bench_results row; latency follows from throughput."""
    lat = batch / ips * 1000 if ips else None
    # what ran: a CPU row records its CPU model (no GPU name), a GPU row the name NVML reports
    cpu = device.startswith("cpu")
    gpu_name = "" if cpu else f"NVIDIA {device.upper()}"
    row = {"suite": suite, "device": device, "gpu_name": gpu_name,
           "model": model, "backend": backend, "precision": precision, "batch_size": batch, "status": status,
           "reason": reason, "latency_ms_p50": lat, "latency_ms_p90": lat * 1.05 if lat else None,
           "latency_ms_p99": lat * 1.1 if lat else None, "throughput_ips": ips if status == "ok" else None,
           "peak_mem_mb": 100.0, "energy_j_per_item": None, "iterations": 50, "origin": "run",
           "hardware": "Test CPU" if cpu else gpu_name, "hardware_kind": "cpu" if cpu else "gpu",
           "cpu_model": "Test CPU", "run_id": "testrun00001",
           # three agreeing repeats: a measurement that may decide a contradiction (tests override it)
           "repeats": 3, "confirmed": status == "ok", "confirm_note": ""}
    row.update(extra)
    return row


def cnn_rows(device: str, scale: float, batches=(1, 2, 4, 8, 16, 32, 64), precisions=("fp32", "fp16"),
             model: str = "resnet18", backend: str = "torch_eager") -> list[dict]:
    """A saturating throughput curve: scale x 1000 x (1 - 2^(-b/8)), FP16 twice FP32."""
    return [bench_row(device, model, backend, p, b, scale * 1000 * (1 - 2.0 ** (-b / 8)) * (2 if p == "fp16" else 1))
            for p in precisions for b in batches]


def write_study(root: Path, study: str, question: str, papers: list[dict], claims: list[dict],
                bench: dict[str, list[dict]], study_drift: bool = False, support: list[dict] | None = None) -> dict:
    """Write screening.json, papers, fulltext, claims, claim_support and bench files like the stages do."""
    d = root / "results" / study
    d.mkdir(parents=True, exist_ok=True)
    paths = {"screening": d / "screening.json", "papers": d / "papers.parquet", "fulltext": d / "fulltext.parquet",
             "claims": d / "claims.parquet", "support": d / "claim_support.parquet", "queries": d / "queries.json"}
    write_json(paths["screening"], {"study": study, "question": question, "retrieved": len(papers),
                                    "kept": sum(p.get("kept", True) for p in papers), "study_drift": study_drift,
                                    "drift_reason": "topic drift: crafted" if study_drift else "",
                                    "embedding_method": "none", "thresholds": {}})
    write_json(paths["queries"], [{"study": study, "query_id": "q0000000001", "text": question[:60]}])
    write_parquet(paths["papers"], paper_frame(study, papers))
    write_parquet(paths["fulltext"], pd.DataFrame(
        [{"study": study, "paper_id": p["paper_id"], "status": "ok", "text_origin": "snapshot", "fetched": "corpus", "chars": 0,
          "reason": "",
          "text": p.get("full_text", "")} for p in papers if p.get("kept", True)]))
    cdf = pd.DataFrame(claims, columns=CLAIM_COLS).assign(study=study)
    write_parquet(paths["claims"], cdf)
    sup = support if support is not None else [
        {"study": study, "claim_id": c["claim_id"], "text_support": 0.9, "numbers_grounded": True,
         "evidence": c["sentence"], "method": "tfidf"} for c in claims]
    write_parquet(paths["support"], pd.DataFrame(sup, columns=list(CONTRACT["claim_support"])))
    bench_paths = []
    for name, rows in bench.items():
        p = root / "results" / "bench" / f"{name}.parquet"
        write_parquet(p, pd.DataFrame(rows))
        bench_paths.append(str(p))
    paths["bench"] = bench_paths
    return {k: (v if isinstance(v, list) else str(v)) for k, v in paths.items()}


def write_reference_file(folder: Path, name: str, rows: list[dict], date: str = "2026-11-29T05:50:45Z",
                         commit: str = "e3f23cab1c9fe231f1495bcf53a02fec238ebab6") -> str:
    """A results file measured elsewhere with its REFERENCE.yaml, read into reference rows as the rule does;
    returns the reference Parquet's path."""
    from sovereign.verdicts.reference import write_reference

    folder.mkdir(parents=True, exist_ok=True)
    src = folder / name
    frame = pd.DataFrame(rows).drop(columns=["origin", "run_id"], errors="ignore")
    frame.to_csv(src, index=False) if name.endswith(".csv") else frame.to_parquet(src)
    (folder / "REFERENCE.yaml").write_text(f"files:\n  {name}: {{date: '{date}', commit: {commit}, command: test}}\n")
    out = folder / "bench_reference.parquet"
    write_reference([str(src)], str(out))
    return str(out)
