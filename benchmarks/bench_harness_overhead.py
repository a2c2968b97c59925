"""Harness overhead: the harness's median latency for one configuration against a bare timing loop.

Both time the same prepared model on the same input in the same process; the bare loop is
written out here (CUDA events + synchronize per iteration on a GPU, perf_counter on a CPU)
with none of the harness's machinery (rounds, stability check, NVML sampling thread,
memory cap, energy meter, result objects). They alternate for several trials; the overhead is the
relative difference of the medians of their per-trial medians. Target: under 2%.

    PYTHONPATH=. python3 benchmarks/bench_harness_overhead.py --device cpu --batch 8
    PYTHONPATH=. python3 benchmarks/bench_harness_overhead.py --device cuda --batch 64 --precision fp16
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sovereign.bench.backends import get_backend  # noqa: E402
from sovereign.bench.config import CnnGrid, CnnSuite, DeviceSpec  # noqa: E402
from sovereign.bench.models import build_model, synthetic_batch  # noqa: E402
from sovereign.bench.runner import CnnJob, _context, _measure_point  # noqa: E402
from sovereign.bench.tracker import TimingConfig  # noqa: E402


def bare_median_ms(fn, iterations: int, warmup: int, cuda: bool) -> float:
    """Median of `iterations` timed calls of `fn`, nothing else around them."""
    for _ in range(warmup):
        fn()
    samples = []
    if cuda:
        import torch

        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize()
        for _ in range(iterations):
            start.record()
            fn()
            end.record()
            end.synchronize()
            samples.append(start.elapsed_time(end))
    else:
        for _ in range(iterations):
            t0 = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(samples)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--backend", default="torch_eager")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--trials", type=int, default=5, help="alternating harness/bare trials")
    ap.add_argument("--iterations", type=int, default=100, help="bare-loop iterations per trial")
    ap.add_argument("--time-budget", type=float, default=10.0, help="harness time budget per trial (s)")
    ap.add_argument("--protocol", default="stable", choices=["stable", "deepgap"], help="the harness protocol timed")
    ap.add_argument("--json", help="also write the result here")
    args = ap.parse_args(argv)

    device = DeviceSpec("bench_overhead", kind=args.device, gpus=1 if args.device == "cuda" else 0,
                        cpus=max(1, __import__("os").cpu_count() or 1))
    timing = TimingConfig(warmup=10, min_iterations=args.iterations, max_iterations=args.iterations * 3,
                          time_budget_s=args.time_budget)
    suite = CnnSuite(timing=timing)
    job = CnnJob(device=device, model=args.model, backend=args.backend, precision=args.precision, suite=suite,
                 grid=CnnGrid(batch_sizes=[args.batch]), cache_dir="/tmp/sovereign-bench-overhead")
    model = build_model(args.model, "", suite.seed)
    backend = get_backend(args.backend)(_context(job, model))
    backend.load()
    x = backend.prepare(synthetic_batch(args.batch, suite.seed))
    cuda = backend.timer == "cuda"

    def bare():
        return backend.run(x)

    harness, plain, iters = [], [], []
    for _ in range(args.trials):
        stats, _, _, _ = _measure_point(backend, job, args.batch, "", args.protocol)
        harness.append(stats.median_ms)
        iters.append(stats.iterations)
        plain.append(bare_median_ms(bare, args.iterations, 10, cuda))
    h, b = statistics.median(harness), statistics.median(plain)
    result = {"protocol": args.protocol, "device": args.device, "model": args.model, "backend": args.backend, "precision": args.precision,
              "batch": args.batch, "harness_median_ms": h, "bare_median_ms": b, "overhead_pct": 100.0 * (h - b) / b,
              "harness_trials_ms": harness, "bare_trials_ms": plain, "harness_iterations": iters,
              "bare_iterations": args.iterations, "trials": args.trials}
    print(json.dumps(result, indent=2))
    print(f"harness median {h:.4f} ms vs bare loop {b:.4f} ms: overhead {result['overhead_pct']:+.2f}% "
          f"({'within' if abs(result['overhead_pct']) < 2 else 'OUTSIDE'} the 2% target)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
