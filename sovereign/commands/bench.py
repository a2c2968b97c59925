"""`sovereign bench`: run any CNN benchmark point or sweep without Snakemake, writing the workflow's files.

Works on a GPU host that has only torch, pandas and pyarrow: run it as
`python3 -m sovereign.commands.bench ...` when the console script is not installed.
"""
from __future__ import annotations

import argparse
import sys
import time


def _csv(kind):
    def parse(text: str):
        try:
            return [kind(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}") from None
    return parse


def add_parser(sub):
    """Register the subcommand."""
    p = sub.add_parser("bench", help="run CNN benchmarks (any point or sweep) without Snakemake",
                       description="Run the CNN benchmark suite for one device entry and write "
                                   "<out>/cnn/<device>/<model>__<backend>__<precision>.parquet/.json")
    p.add_argument("--config", help="your config file, applied on config/config.yaml as the workflow applies --configfile")
    p.add_argument("--device", default="cpu", help="device entry to run on (default: %(default)s)")
    p.add_argument("--model", type=_csv(str), help="models, comma-separated (default: the device grid's)")
    p.add_argument("--backend", type=_csv(str), help="backends, comma-separated (default: the grid's)")
    p.add_argument("--precision", type=_csv(str), help="precisions, comma-separated (default: the grid's per backend)")
    p.add_argument("--batch", type=_csv(int), help="batch sizes, comma-separated (default: the grid's)")
    p.add_argument("--out", default="results/bench", help="output directory (default: %(default)s)")
    p.add_argument("--skip-existing", action="store_true", help="keep jobs whose files exist (resume a sweep)")
    p.add_argument("--allow-mismatch", action="store_true", help="record rows as 'mismatch' on the wrong GPU instead of failing")
    p.add_argument("--memory-cap-mb", type=int, help="cap memory per point (oom rows beyond it)")
    p.add_argument("--time-budget", type=float, help="seconds of timing per batch size")
    p.add_argument("--warmup", type=int, help="warm-up iterations per batch size")
    p.add_argument("--channels-last", action="store_true", default=None, help="channels-last layout for PyTorch")
    p.add_argument("--protocol", type=_csv(str), help="protocols, comma-separated: stable, deepgap, mlperf (default: the config's)")
    p.add_argument("--compile-mode", help="torch.compile mode: default, reduce-overhead, max-autotune, max-autotune-no-cudagraphs")
    p.add_argument("--cuda-graphs", action="store_true", default=None, help="torch_eager replays static CUDA graphs (GPU)")
    p.add_argument("--summary", help="also write every row of this run to one CSV file")
    return p


def run(args) -> int:
    """Run the sweep and print one line per row."""
    from ..bench.cnn import run_sweep
    from ..bench.result import rows_frame
    from ..smk import setup_logging

    setup_logging()
    from ..config import load_user_config

    config = load_user_config(args.config)
    from ..bench.config import stable_hash as _hash

    timing = {k: v for k, v in (("time_budget_s", args.time_budget), ("warmup", args.warmup)) if v is not None}
    started = time.time()
    rows = run_sweep(config, args.device, args.out, models=args.model, backends=args.backend,
                     precisions=args.precision, batch_sizes=args.batch, skip_existing=args.skip_existing,
                     allow_mismatch=True if args.allow_mismatch else None, memory_cap_mb=args.memory_cap_mb,
                     timing=timing or None, channels_last=args.channels_last, protocols=args.protocol,
                     compile_mode=args.compile_mode, cuda_graphs=args.cuda_graphs,
                     config_hash=_hash({"devices": config.get("devices"), "bench": config.get("bench")}))
    df = rows_frame(rows)
    if args.summary:
        from ..io import atomic_path

        with atomic_path(args.summary, suffix=".csv") as tmp:
            df.to_csv(tmp, index=False)
    cols = ["device", "gpu_name", "model", "backend", "precision", "batch_size", "protocol", "status", "latency_ms_p50",
            "throughput_ips", "iterations", "reason"]
    with __import__("pandas").option_context("display.width", 250, "display.max_rows", 1000,
                                              "display.max_colwidth", 60):
        print(df[cols].to_string(index=False))
    print(f"{len(df)} rows in {time.time() - started:.1f} s; files under {args.out}/cnn/{args.device}/")
    return 0


if __name__ == "__main__":
    from ..errors import SovereignError

    parser = argparse.ArgumentParser(prog="sovereign-bench")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    try:
        sys.exit(run(parser.parse_args(["bench", *sys.argv[1:]])))
    except SovereignError as exc:
        print(f"sovereign: {exc}", file=sys.stderr)
        sys.exit(1)
