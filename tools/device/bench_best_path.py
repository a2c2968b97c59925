"""One bench_cnn job on the device, through the rule's own function (job_params -> bench_cnn_job), no Snakemake.

For a bare GPU host without Snakemake: applies overlays on config/config.yaml as the workflow applies
--configfile files (sovereign.config.load_user_config), then runs the jobs named on the command line exactly as
the `bench_cnn` rule would, writing the rule's files under --out. Example (the H200 reference refresh):
  python3 tools/device/bench_best_path.py --overlay tools/device/h200.yaml --device h200 \
      --job resnet18:torch_compile:fp16 --out $OUT/bench
"""
from __future__ import annotations

import argparse
import logging

from sovereign.bench.cnn import bench_cnn_job, job_paths
from sovereign.bench.config import job_params, stable_hash
from sovereign.config import load_user_config


def main() -> None:
    """Parse the arguments, run each job, print one line per row."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--overlay", action="append", default=[], help="overlay config files, in order")
    ap.add_argument("--device", required=True)
    ap.add_argument("--job", action="append", required=True, help="model:backend:precision")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = load_user_config(*args.overlay)
    for spec in args.job:
        model, backend, precision = spec.split(":")
        params = job_params(config, args.device, model)
        rows_path, env_path = job_paths(args.out, args.device, model, backend, precision)
        rows = bench_cnn_job(str(rows_path), str(env_path), args.device, model, backend, precision, params,
                             config_hash=stable_hash(params))
        for r in rows:
            print(f"{r['model']} {r['backend']} {r['precision']} {r['memory_format']} {r['grid_part']} "
                  f"bs={r['batch_size']} {r['protocol']} {r['status']} {r.get('throughput_ips') or 0:.0f} img/s "
                  f"p50={r.get('latency_ms_p50') or 0:.3f} ms compile_s={r.get('compile_s')} {r['reason'][:80]}")


if __name__ == "__main__":
    main()
