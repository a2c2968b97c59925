"""Benchmark the verdict end of the default run: frame_study + check_claims + tribunal + load_warehouse + render_report.

    .venv/bin/python benchmarks/bench_verdicts.py                 # default config, temporary work dir
    .venv/bin/python benchmarks/bench_verdicts.py --workdir /tmp/sov-bench --repeats 3

1. runs the whole default workflow once in the work dir (reused when already there), so the
   papers, claims and benchmark rows these stages read are the default run's own;
2. then, `--repeats` times, forces only frame_study, check_claims, tribunal, load_warehouse and render_report to
   run again through Snakemake (`--forcerun`, 2 cores) and reports the wall time of that call
   (Snakemake's own DAG building included) and each job's time from its benchmark file.
Target: under 30 s on 2 cores.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

STAGES = ["frame_study", "check_claims", "tribunal", "load_warehouse", "render_report"]


def job_seconds(work: Path) -> dict[str, float]:
    """Seconds per job from the rules' benchmark files (results/benchmarks/<rule>/...)."""
    out = {}
    for rule in STAGES:
        for tsv in sorted((work / "results" / "benchmarks").glob(f"{rule}*")):
            files = [tsv] if tsv.is_file() else sorted(tsv.rglob("*.tsv"))
            for f in files:
                with open(f) as fh:
                    row = next(csv.DictReader(fh, delimiter="\t"))
                cpu = row.get("cpu_time")
                out[str(f.relative_to(work / "results" / "benchmarks"))] = {
                    "wall_s": round(float(row["s"]), 2), "cpu_s": round(float(cpu), 2) if cpu not in (None, "", "NA") else None}
    return out


def main() -> int:
    from workflow import snakemake, write_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", default="", help="work dir (default: a new temporary one)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="sov-bench-verdicts-"))
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "config.yaml").exists():
        write_config(work, yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    t0 = time.perf_counter()
    res = snakemake(work, timeout=3600)
    if res.returncode:
        print(res.stdout[-3000:], res.stderr[-3000:])
        return 1
    print(f"default run (or reuse) in {work}: {time.perf_counter() - t0:.1f} s")
    walls, loads = [], []
    for i in range(args.repeats):
        t0 = time.perf_counter()
        res = snakemake(work, "--forcerun", *STAGES)
        wall = time.perf_counter() - t0
        if res.returncode:
            print(res.stdout[-3000:], res.stderr[-3000:])
            return 1
        walls.append(wall)
        loads.append(os.getloadavg()[0])
        ran = [ln.split("rule ")[1].rstrip(":") for ln in res.stderr.splitlines() if ln.startswith(("rule ", "localrule "))]
        print(f"repeat {i + 1}: {wall:.1f} s wall for {len([r for r in ran if r != 'all'])} jobs "
              f"({', '.join(sorted(set(ran) - {'all'}))})")
    jobs = job_seconds(work)
    cpu_total = sum(j["cpu_s"] or 0 for j in jobs.values())
    # the machine may be shared: the load average says how much the wall time is inflated
    print(json.dumps({"wall_s": [round(w, 2) for w in walls], "best_s": round(min(walls), 2),
                      "load_avg_1min": [round(x, 1) for x in loads], "jobs": jobs,
                      "cpu_s_total": round(cpu_total, 1), "cpu_s_total_over_2_cores": round(cpu_total / 2, 1),
                      "target_s": 30}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
