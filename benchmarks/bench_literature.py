"""Benchmark the literature stage and the whole default run (not a test; prints figures).

    .venv/bin/python benchmarks/bench_literature.py            # all three measurements
    .venv/bin/python benchmarks/bench_literature.py --only screen --n 100000

1. the default run's wall time without benchmarks (bench.devices emptied), in a temporary dir;
2. a no-change rerun of the same;
3. screening N generated abstracts (TF-IDF, embeddings off): wall time and peak memory,
   measured in a child process so the figure is the screening's own.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

WORDS = ("gpu inference latency throughput batch size precision int8 fp16 tensor core memory bandwidth kernel "
         "expert routing mixture token model vision language dataset training accuracy protein galaxy market "
         "quantum graph compiler cache network energy power scheduling sparse dense matrix").split()


def _screen_child(n: int, workdir: str) -> None:
    from sovereign.io import write_jsonl
    from sovereign.literature.screen import screen_papers

    rng = random.Random(0)
    rows = ({"id": f"{i:07d}", "title": " ".join(rng.choices(WORDS, k=8)),
             "abstract": " ".join(rng.choices(WORDS, k=120)), "authors": ["X"], "query_id": "qbench00001", "rank": i + 1}
            for i in range(n))
    path = Path(workdir) / "search.jsonl"
    write_jsonl(path, rows)
    t0 = time.perf_counter()
    summary = screen_papers("bench", "How does inference latency of L4 compare with T4 across batch sizes?", [str(path)],
                            str(Path(workdir) / "papers.parquet"), str(Path(workdir) / "s.json"),
                            {"tfidf_threshold": 0.15, "embedding_threshold": 0.45, "drift_tfidf": 0.08,
                             "drift_embedding": 0.3}, {"backend": "none"})
    secs = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"screen_n": n, "screen_s": round(secs, 2), "peak_rss_mb": round(peak_mb), "kept": summary["kept"]}))


def bench_screen(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, __file__, "--child-screen", str(n), "--workdir", tmp],
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_default_run() -> dict:
    from workflow import snakemake, write_config

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    if "bench" in cfg:
        cfg["bench"]["devices"] = []  # the run "without benchmarks"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_config(work, cfg)
        t0 = time.perf_counter()
        first = snakemake(work)
        t1 = time.perf_counter()
        again = snakemake(work)
        t2 = time.perf_counter()
        if first.returncode or again.returncode:
            sys.exit("workflow failed:\n" + (first.stderr or again.stderr)[-3000:])
    return {"default_run_no_bench_s": round(t1 - t0, 1), "no_change_rerun_s": round(t2 - t1, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["run", "screen"])
    ap.add_argument("--n", type=int, default=100_000, help="abstracts to screen (default %(default)s)")
    ap.add_argument("--child-screen", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_screen:
        _screen_child(args.child_screen, args.workdir)
        return
    result = {}
    if args.only in (None, "run"):
        result.update(bench_default_run())
    if args.only in (None, "screen"):
        result.update(bench_screen(args.n))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
