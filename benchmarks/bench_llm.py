"""H200 reference grid of the llm suite: whole models, each backend, rows like the Snakemake jobs write.

Points run in the priority order below; before each, its cost is estimated (a compile per new
shape plus its requests at a rough per-token time) and a point that would overrun `--budget-s`
is recorded as skipped (skipped.csv) instead of run. Prints per point TTFT, TPOT, tokens/s and the share of
the bandwidth roofline (datasheet, and the copy rate measured now); writes rows.parquet,
rows.csv, skipped.csv and bench_llm.log under --out.
Usage: python benchmarks/bench_llm.py --out DIR [--device h200] [--budget-s 280] [--grid first|second] [--quick]
"""
from __future__ import annotations

import argparse
import gc
import json
import logging
import sys
import time
from pathlib import Path

# (model, backend, batch, input_len, output_len) in priority order: the 191 tok/s target first,
# then the HF rows beside it, then batch and prompt sweeps, other models last.
GRID = [
    ("llama-2-7b", "fast_decode", 1, 512, 128), ("llama-2-7b", "hf_eager", 1, 512, 128),
    ("llama-2-7b", "hf_static_compile", 1, 512, 128), ("llama-2-7b", "fast_decode", 16, 512, 128),
    ("llama-2-7b", "hf_eager", 16, 512, 128), ("llama-2-7b", "hf_static_compile", 16, 512, 128),
    ("llama-2-7b", "fast_decode", 64, 128, 128), ("llama-2-7b", "fast_decode", 1, 2048, 128),
    ("llama-3-8b", "fast_decode", 1, 512, 128), ("llama-3-8b", "hf_eager", 1, 512, 128),
    ("llama-3-8b", "fast_decode", 16, 512, 128), ("llama-3-8b", "hf_static_compile", 1, 512, 128),
    ("llama-2-7b", "fast_decode", 4, 512, 128), ("llama-2-7b", "fast_decode", 16, 2048, 128),
    ("mixtral-8x7b", "fast_decode", 1, 512, 128), ("mixtral-8x7b", "hf_eager", 1, 512, 128),
]
# The second call's points: the batch-16 fast_decode row again (its first check used an absolute logit tolerance),
# then the batch and prompt sweeps and Llama-3-8B's compiled rows the first call's budget skipped.
GRID_SECOND = [
    ("llama-2-7b", "fast_decode", 16, 512, 128), ("llama-2-7b", "fast_decode", 64, 128, 128),
    ("llama-2-7b", "fast_decode", 1, 2048, 128), ("llama-2-7b", "fast_decode", 4, 512, 128),
    ("llama-2-7b", "hf_eager", 64, 128, 128), ("llama-3-8b", "fast_decode", 1, 512, 128),
    ("llama-3-8b", "hf_eager", 16, 512, 128), ("llama-2-7b", "hf_static_compile", 16, 512, 128),
]
GRIDS = {"first": GRID, "second": GRID_SECOND}
COMPILE_S = {"fast_decode": 75.0, "hf_static_compile": 45.0, "hf_eager": 0.0}  # measured first calls, rounded up
MS_PER_TOKEN = {"fast_decode": 6.0, "hf_static_compile": 9.0, "hf_eager": 42.0}  # Llama-2-7B, batch 1-16


def estimate_s(backend: str, requests: int, output_len: int, params_b: float) -> float:
    """A rough cost of a point: its compile plus its requests at a per-token time scaled by model size."""
    return COMPILE_S[backend] + requests * output_len * MS_PER_TOKEN[backend] / 1e3 * max(1.0, params_b / 6.7)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="h200")
    ap.add_argument("--budget-s", type=float, default=280)
    ap.add_argument("--grid", choices=sorted(GRIDS), default="first", help="which list of points to run")
    ap.add_argument("--quick", action="store_true", help="pythia-14m only (a check of the script itself)")
    ap.add_argument("--cpu", action="store_true", help="run on the CPU (with --quick: a check of the script here)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(filename=out / "bench_llm.log", level=logging.INFO)
    import pandas as pd
    import torch

    from sovereign.bench.config import DeviceSpec, device_sheet
    from sovereign.bench.llm.build import build_model
    from sovereign.bench.llm.registry import load_registry
    from sovereign.bench.llm.runner import LlmJob, run_llm_job
    from sovereign.bench.llm.settings import LlmGrid

    t0 = time.time()
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_llm_tune import copy_rate_gbs

    copy = None if args.cpu else copy_rate_gbs()
    entry = device_sheet("config/devices.yaml", args.device)
    dev = DeviceSpec("cpu") if args.cpu else DeviceSpec(args.device, kind="cuda", gpus=1, gpu_name=args.device.upper())
    registry = load_registry()
    grid = [("pythia-14m", b, 1, 64, 32) for b in ("fast_decode", "hf_eager", "hf_static_compile")] if args.quick else GRIDS[args.grid]
    grid = [(m, be, b, i, o) for m, be, b, i, o in grid]
    rows, model, model_key, compiled = [], None, None, set()
    for key, backend, b, i, o in grid:
        spec = registry[key]
        iters = 3 if backend == "hf_eager" else 5
        warm = 1 if backend == "hf_eager" else 2
        first = (key, backend, b, i + o) not in compiled
        cost = estimate_s(backend, iters + warm + 1, o, spec.params_b) * (1 if first else 0.3)
        elapsed = time.time() - t0
        ident = {"suite": "llm", "device": args.device, "model": key, "backend": backend, "precision": "bf16",
                 "batch_size": b, "input_len": i, "output_len": o}
        if elapsed + cost > args.budget_s:
            rows.append({**ident, "status": "skipped", "reason": f"budget: {elapsed:.0f} s spent + ~{cost:.0f} s estimated "
                                                                  f"> --budget-s {args.budget_s:g}"})
            print(f"SKIP {key} {backend} b={b} in={i}: estimated {cost:.0f} s, {elapsed:.0f} s spent", flush=True)
            continue
        if model_key != key:
            model = None
            gc.collect()
            if not args.cpu:
                torch.cuda.empty_cache()
            model, model_key = build_model(spec, "bf16", "cpu" if args.cpu else "cuda"), key
        g = LlmGrid(models=[key], backends=[backend], precisions=["bf16"], batch_sizes=[b], input_lens=[i],
                    output_lens=[o], warmup=warm, iterations=iters, prefill_iterations=5, key="benchmark")
        job = LlmJob(dev, spec, backend, "bf16", g, memory_gb=entry.get("memory_gb"), memory_gbs=entry.get("memory_gbs"))
        point_rows, _ = run_llm_job(job, progress=False, model=model)
        compiled.add((key, backend, b, i + o))
        for r in point_rows:
            bw = r.get("decode_bw_tbs")
            r["copy_rate_gbs_measured"] = copy
            r["copy_rate_share"] = bw * 1e3 / copy if bw and copy else None
            rows.append(r)
            print(f"{key} {backend} b={b} in={i} out={o}: {r['status']} {r['reason'][:100]} "
                  f"TTFT {r.get('ttft_ms_p50') or float('nan'):.1f} ms, TPOT {r.get('tpot_ms_p50') or float('nan'):.2f} ms, "
                  f"{r.get('tokens_per_s_per_seq') or float('nan'):.1f} tok/s/seq, {r.get('output_tokens_per_s') or float('nan'):.0f} tok/s, "
                  f"roofline {r.get('roofline_share') or float('nan'):.2f} (copy {r.get('copy_rate_share') or float('nan'):.2f}), "
                  f"compile {r.get('compile_s') or 0:.0f} s | {r.get('outputs_check', '')}", flush=True)
    df = pd.DataFrame(rows)
    # skipped points are listed apart: rows.parquet holds only the row contract's statuses
    skipped = df[df.status == "skipped"]
    skipped[["model", "backend", "precision", "batch_size", "input_len", "output_len", "reason"]].to_csv(
        out / "skipped.csv", index=False)
    df[df.status != "skipped"].to_parquet(out / "rows.parquet")
    df[df.status != "skipped"].to_csv(out / "rows.csv", index=False)
    cols = ["model", "backend", "batch_size", "input_len", "status", "ttft_ms_p50", "tpot_ms_p50", "tokens_per_s_per_seq",
            "output_tokens_per_s", "roofline_share", "copy_rate_share", "compile_s"]
    print(df[[c for c in cols if c in df]].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    (out / "summary.json").write_text(json.dumps({"copy_gbs": copy, "wall_s": time.time() - t0,
                                                  "gpu": "" if args.cpu else torch.cuda.get_device_name(0), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
