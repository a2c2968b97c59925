"""Run a labelled tribunal scenario (tests/fixtures/scenarios.yaml) through the stage functions in DAG order."""
from __future__ import annotations

import json
from pathlib import Path

import yaml
from test_verdicts_data import bench_row, claim, cnn_rows, write_study

from sovereign.verdicts.check import check_claims
from sovereign.verdicts.frame import frame_study
from sovereign.verdicts.tribunal import run_tribunal

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "scenarios.yaml"
SUITES = {"cnn": "cnn", "moe": "moe_routing"}
# prefill p50 ms per (strategy, batch): on-demand sits between top-1 and top-2, as its activations do
MOE = {"topk1": (1.0, 1.0), "topk2": (2.0, 1.8), "topk4": (4.0, 3.5), "ondemand": (1.4, 1.5)}


def load() -> list[dict]:
    """The scenarios, in file order."""
    return yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))["scenarios"]


def moe_rows(device: str) -> list[dict]:
    """Routing rows: real activations per token and p50 latency per strategy, phase and batch size."""
    rows = []
    for phase, scale in (("prefill", 2.0), ("decode", 0.2)):
        for b in (1, 2, 4):
            for strat, (act, ms) in MOE.items():
                lat = ms * scale * (1 + 0.3 * b)
                rows.append(bench_row(device, "tiny_8e", strat, "fp32", b, b / lat * 1000, suite="moe_routing",
                                      phase=phase, workload="vqav2", dispatch="grouped", layers=2,
                                      real_act_per_token=act if phase == "prefill" else min(act, 2.0)))
    return rows


def bench_of(spec: dict, origin: str | None) -> dict[str, list[dict]]:
    """Bench files (name -> rows) from a scenario's compact bench spec."""
    out = {}
    for suite, entries in spec.items():
        if suite == "cnn":
            for dev, scale, *precs in entries:
                out[f"cnn_{dev}"] = cnn_rows(dev, float(scale), precisions=tuple(precs))
        elif suite == "moe":
            for dev in entries:
                out[f"moe_{dev}"] = moe_rows(dev)
    if origin:
        out = {k: [{**r, "origin": origin, "reference_date": "2026-11-02"} for r in rows] for k, rows in out.items()}
    return out


def run(scn: dict, root: Path, weights: dict | None = None) -> dict:
    """frame_study -> check_claims -> tribunal on the scenario; the verdict with the frame and answer."""
    study = "routing" if "routing" in scn["question"].lower() else "gpu"
    suites = ["moe_routing"] if study == "routing" else ["cnn"]
    claims = [claim(c["claim_id"], c["paper_id"], c["sentence"], **{k: v for k, v in c.items()
                                                                    if k not in ("claim_id", "paper_id", "sentence")})
              for c in scn["claims"]]
    papers = list({p["paper_id"]: p for p in scn["papers"]}.values())
    paths = write_study(root, study, scn["question"], papers, claims, bench_of(scn["bench"], scn.get("origin")))
    d = root / "results" / study
    frame_study(study, scn["question"], paths["claims"], paths["papers"], str(d / "frame.json"),
                str(d / "on_frame.parquet"), str(d / "study_frames.parquet"), fulltext_path=paths["fulltext"])
    check_claims(study, str(d / "on_frame.parquet"), paths["support"], paths["bench"], str(d / "checks.parquet"), suites)
    v = run_tribunal(study, scn["question"], paths["screening"], paths["papers"], str(d / "on_frame.parquet"),
                     str(d / "checks.parquet"), paths["bench"], suites, str(d / "verdict.json"), str(d / "reviews.parquet"),
                     str(d / "verdicts.parquet"), str(d / "final.parquet"), support_path=paths["support"],
                     fulltext_path=paths["fulltext"], embed_cfg={"backend": "none"}, frame_path=str(d / "frame.json"),
                     out_answer=str(d / "answer.json"), out_answers=str(d / "answers.parquet"), weights=weights,
                     tribunal_cfg={"requery_max": 0})
    v["_frame"] = json.loads((d / "frame.json").read_text())
    v["_answer"] = json.loads((d / "answer.json").read_text())
    return v
