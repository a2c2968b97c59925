"""`sovereign moe`: run any point or grid of the moe_routing suite without Snakemake.

Reads `bench.suites.moe_routing` and `devices.<name>` from a config file (plain YAML, no
schema library needed, so it runs on a bare GPU host as `python -m sovereign.bench.moe`);
options narrow or replace the grid. Writes one Parquet of rows and one JSON report per
workload, and prints a short table.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _csv(cast=str):
    return lambda text: [cast(v) for v in text.split(",") if v.strip()]


def add_parser(sub):
    """Register the subcommand."""
    p = sub.add_parser("moe", help="run the moe_routing benchmark (a point or a grid)",
                       description="Run the moe_routing suite: MoE blocks x routing strategies x dispatches x batch sizes.")
    fill_parser(p)
    return p


def fill_parser(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options (shared by `sovereign moe` and `python -m sovereign.bench.moe`)."""
    p.add_argument("--config", help="your config file, applied on config/config.yaml as the workflow applies --configfile")
    p.add_argument("--device", default="cpu", help="device entry under `devices` (default: %(default)s)")
    p.add_argument("--devices-file", default="config/devices.yaml", help="datasheet peaks per device (default: %(default)s)")
    p.add_argument("--out", default="results/bench/moe_routing", help="output folder; files go to OUT/<device>/ (default: %(default)s)")
    p.add_argument("--workloads", type=_csv(), help="e.g. vqav2,visual7w")
    p.add_argument("--strategies", type=_csv(), help="e.g. topk1,topk2,topp0.5,ondemand")
    p.add_argument("--dispatches", type=_csv(), help="loop,grouped")
    p.add_argument("--phases", type=_csv(), help="prefill,decode")
    p.add_argument("--dtypes", type=_csv(), help="fp32,bf16,fp16")
    p.add_argument("--batch-sizes", type=_csv(int), help="samples per batch, e.g. 1,8,64")
    p.add_argument("--time-budget", type=float, help="seconds of timed iterations per point")
    p.add_argument("--level", choices=["block", "model", "both"], default="both",
                   help="block: the MoE stack grid; model: the grid's MoE-LLaVA-shaped model points (default: %(default)s)")
    p.add_argument("--model-batch-sizes", type=_csv(int), help="requests per batch at model level, e.g. 1,4,16,64")
    p.add_argument("--model-requests", type=int, help="requests timed per model-level point at least")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def run(args) -> int:
    """Run the grid for each workload and print a summary."""
    from ..bench.moe.config import MoeSuite, device_spec, hardware_peaks, suite_section
    from ..bench.moe.runner import MoeJob, run_moe_job, write_job
    from ..bench.result import rows_frame
    from ..config import load_user_config

    config = load_user_config(args.config)
    section = suite_section(config)
    device = device_spec(config, args.device)
    grid_key = "gpu" if device.kind == "cuda" else "cpu"
    grid = dict(section.get(grid_key) or {})
    for opt, key in (("workloads", "workloads"), ("strategies", "strategies"), ("dispatches", "dispatches"),
                     ("phases", "phases"), ("dtypes", "dtypes"), ("batch_sizes", "batch_sizes"),
                     ("time_budget", "time_budget_s")):
        if getattr(args, opt) is not None:
            grid[key] = getattr(args, opt)
    if grid.get("model") is not None:
        grid["model"] = dict(grid["model"])
        for opt, key in (("model_batch_sizes", "batch_sizes"), ("model_requests", "requests")):
            if getattr(args, opt) is not None:
                grid["model"][key] = getattr(args, opt)
    suite = MoeSuite.from_config({**section, grid_key: grid})
    levels = ("block", "model") if args.level == "both" else (args.level,)
    peaks = hardware_peaks(args.devices_file, args.device)
    frames = []
    for workload in suite.grid(device).workloads:
        job = MoeJob(device=device, workload=workload, suite=suite, grid=suite.grid(device), peaks=peaks, levels=levels)
        rows, report = run_moe_job(job, progress=not args.no_progress)
        out = Path(args.out) / args.device
        write_job(rows, report, out / f"{workload}.parquet", out / f"{workload}.json")
        frames.append(rows_frame(rows))
        print(f"wrote {out / f'{workload}.parquet'} ({len(rows)} rows)", file=sys.stderr)
    _summary(frames)
    return 0


def _summary(frames) -> None:
    import pandas as pd

    df = pd.concat(frames, ignore_index=True)
    cols = ["workload", "phase", "batch_size", "backend", "dispatch", "status", "latency_ms_p50", "real_act_per_token",
            "virtual_act_per_token", "achieved_tflops", "achieved_tflops_share", "bound", "ttft_ms_p50", "tpot_ms_p50",
            "moe_share_prefill", "moe_share_decode"]
    cols = [c for c in cols if c in df.columns]
    with pd.option_context("display.max_rows", 1000, "display.width", 220, "display.float_format", "{:.3f}".format):
        print(df[cols].to_string(index=False))
