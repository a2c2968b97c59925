"""Tune the fast_decode path: Llama-2-7B shape, bf16, batch 1, prompt 512, 128 new tokens, per inductor setting.

Prints TPOT, tokens/s and the share of the measured device copy rate and of the datasheet
bandwidth per variant; then runs the suite's three backends on pythia-14m as a GPU smoke test.
Usage: python benchmarks/bench_llm_tune.py --out DIR [--budget-s 240]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

VARIANTS = {
    "default": {},
    "coord_descent": {"coordinate_descent_tuning": True, "triton.unique_kernel_names": True, "fx_graph_cache": True},
    "coord_descent+autotune_gemm": {"coordinate_descent_tuning": True, "triton.unique_kernel_names": True,
                                    "fx_graph_cache": True, "max_autotune_gemm": True},
}


def copy_rate_gbs() -> float:
    """Device-to-device copy of 2 GiB bf16, bytes read + written per second (CUDA events, warm-up first)."""
    import torch

    src = torch.randn(1 << 30, device="cuda", dtype=torch.bfloat16)
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    a.record()
    for _ in range(10):
        dst.copy_(src)
    b.record()
    b.synchronize()
    return 2 * src.numel() * 2 * 10 / (a.elapsed_time(b) / 1e3) / 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget-s", type=float, default=240)
    ap.add_argument("--model", default="llama-2-7b")
    args = ap.parse_args()
    import torch
    import torch._inductor.config as ic

    from sovereign.bench.llm.backends import FastDecode, TokenClock
    from sovereign.bench.llm.build import build_model, decode_step_bytes, draw_ids
    from sovereign.bench.llm.registry import load_registry
    from sovereign.bench.llm.scenario import time_point

    t0 = time.time()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    copy = copy_rate_gbs()
    spec = load_registry()[args.model]
    model = build_model(spec, "bf16", "cuda")
    ids = draw_ids(spec, 1, 512, 0, "cuda")
    results = {"copy_gbs": copy, "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__}
    import transformers

    results["transformers"] = transformers.__version__
    for name, settings in VARIANTS.items():
        if time.time() - t0 > args.budget_s:
            results[name] = {"skipped": f"budget {args.budget_s} s spent"}
            continue
        torch._dynamo.reset()
        for k, v in settings.items():
            obj, attr = (ic.triton, k.split(".")[1]) if k.startswith("triton.") else (ic, k)
            setattr(obj, attr, v)
        be = FastDecode(model, "cuda", compile=True)
        times = time_point(be, ids, 128, warmup=3, iterations=5, prefill_iterations=3,
                           clock_factory=lambda n: TokenClock("cuda", n))
        m = times.metrics(1, 512, 128)
        step = decode_step_bytes(spec, "bf16", 1, 512 + 64)
        bw = step / (m["tpot_ms_p50"] / 1e3) / 1e9
        results[name] = {"tpot_ms_p50": m["tpot_ms_p50"], "tok_s": m["tokens_per_s_per_seq"], "ttft_ms_p50": m["ttft_ms_p50"],
                         "first_call_s": times.first_call_s, "decode_gbs": bw, "share_copy": bw / copy,
                         "share_datasheet_4800": bw / 4800}
        print(name, json.dumps(results[name]), flush=True)
    (out / "tune.json").write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
