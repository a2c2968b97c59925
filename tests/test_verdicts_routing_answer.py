"""The routing answer at model level: end-to-end latency per request, the MoE layers' share, and the MoE layers' own change."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from test_verdicts_answer import routing_rows
from test_verdicts_frame import ROUTING_Q

from sovereign.verdicts.answer import build_answer
from sovereign.verdicts.frame import build_frame
from sovereign.verdicts.hardware import load_hardware
from sovereign.verdicts.match import Bench

H200 = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "h200-moe-llava"


def _h200_rows() -> pd.DataFrame:
    files = [H200 / f"{lvl}_{wl}.parquet" for lvl in ("model", "block") for wl in ("vqav2", "visual7w")]
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def test_model_level_answer_states_e2e_change_moe_share_and_moe_change_per_workload():
    ans = build_answer(build_frame("routing", ROUTING_Q), pd.DataFrame(), Bench(_h200_rows(), load_hardware()))
    (model,) = [c for c in ans["comparisons"] if "end-to-end per request" in c["comparison"]]
    f = model["finding"]
    # vqav2, measured on the H200: on-demand 129.7 / 418.9 ms against top-2 109.3 / 418.7 ms at batch 1 / 64
    assert ("For VQAv2-shaped requests on the moellava-stablelm-1.6b-4e model, on-demand changes end-to-end latency "
            "per request (p50) by +19% at batch 1, +18% at batch 4, +11% at batch 16, +0% at batch 64 against top-2") in f
    assert "the MoE layers are 38% to 46% of prefill" in f  # top-2's timed shares over the four batch sizes
    assert "For Visual7W-shaped requests" in f and "NVIDIA H200" in f
    assert "the block suite's MoE stacks alone change by" in f  # block rows of the same device and batch sizes
    d64 = next(d for d in model["details"] if d["workload"] == "vqav2" and d["batch_size"] == 64)
    assert round(d64["e2e_change_pct"], 2) == 0.05 and 0.37 < d64["moe_share_prefill_topk2"] < 0.38
    assert d64["block_prefill_change_pct"] is not None
    assert len(model["details"]) == 8 and all(k.count("/request/") for k in model["measured"])


def test_model_rows_never_enter_the_block_level_comparison():
    block = routing_rows()
    model = [{**r, "level": "model", "phase": "request", "latency_ms_p50": 1000.0, "e2e_ms_p50": 1000.0}
             for r in routing_rows() if r["phase"] == "prefill"]
    ans = build_answer(build_frame("routing", ROUTING_Q), pd.DataFrame(), Bench(pd.DataFrame(block + model), load_hardware()))
    top2 = ans["comparisons"][0]
    assert top2["comparison"] == "on-demand vs top-k routing"  # the block level's one sentence and table
    assert {d["phase"] for d in top2["details"]} == {"prefill", "decode"}  # no 'request' phase pooled in
    assert "In request" not in top2["finding"]


def test_claimed_budget_is_stated_at_model_level_too():
    from sovereign.verdicts.conditional import conditional_budget

    claim = {"value": "-40", "unit": "%", "baseline_method": "top-2", "subject_method": "anyexperts"}
    res = conditional_budget(claim, Bench(_h200_rows(), load_hardware()))
    ctx = {c["context"]: c for c in res["contexts"]}
    # block contexts (prefill/decode) and the whole model's end-to-end context, each paired within its own model
    assert {"request/vqav2/grouped", "request/visual7w/grouped", "decode/vqav2/grouped"} <= set(ctx)
    assert ctx["request/vqav2/grouped"]["batch_sizes"] == [1, 4, 16, 64]
    # budget0.6top2 against top-2, e2e p50 per request at batch 64 on the H200: 373.9 ms against 418.7 ms
    assert ctx["request/vqav2/grouped"]["change_pct"][-1] == -10.7
    assert "request/vqav2/grouped on NVIDIA H200" in res["finding"]
