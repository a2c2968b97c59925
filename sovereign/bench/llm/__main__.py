"""`python -m sovereign.bench.llm`: one llm job without Snakemake (the grid from a workflow config)."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ...config import load_user_config
from ...errors import SovereignError
from ..config import stable_hash
from .runner import bench_llm_job
from .settings import job_params


def main(argv: list[str] | None = None) -> int:
    """Parse the options, build the job's params as the rule would, run it and write its files."""
    ap = argparse.ArgumentParser(prog="python -m sovereign.bench.llm", description="Run one job of the llm suite.")
    ap.add_argument("--config", help="your config file, applied on config/config.yaml as the workflow applies --configfile")
    ap.add_argument("--devices-file", default="config/devices.yaml", help="datasheet facts (memory_gb, memory_gbs)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--model", required=True, help="registry key of config/models.yaml")
    ap.add_argument("--backend", default="fast_decode", choices=["hf_eager", "hf_static_compile", "fast_decode"])
    ap.add_argument("--precision", default=None, help="fp32, fp16 or bf16 (default: bf16 on a GPU, fp32 on a CPU)")
    ap.add_argument("--out", required=True, help="folder for <model>__<backend>__<precision>.parquet/.json")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_user_config(args.config)
        params = job_params(config, args.device, args.model, args.devices_file)
        kind = params["device"].get("kind", "cpu")
        precision = args.precision or ("bf16" if kind == "cuda" else "fp32")
        stem = Path(args.out) / f"{args.model}__{args.backend}__{precision}"
        stem.parent.mkdir(parents=True, exist_ok=True)
        n = bench_llm_job(f"{stem}.parquet", f"{stem}.json", args.device, args.model, args.backend, precision, params,
                          stable_hash(params))
        print(f"{n} rows -> {stem}.parquet")
        return 0
    except (SovereignError, KeyError) as exc:
        print(f"sovereign: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
