"""Check the grouped (and graph) dispatch against the per-expert loop on a GPU, for every strategy, and time a decode pair.

    python3 benchmarks/check_moe_kernels.py --out $OUT/moe_kernels_check.txt

Uses the GPU grid's block (hidden 2048, FFN 5632, 8 experts, 2 layers, SwiGLU) in bf16. For each
strategy, at prefill (4 samples) and decode (16 samples) of the VQAv2-shaped workload, prints the
largest relative error between the loop dispatch (float32 accumulation, the reference) and the
grouped dispatch (bf16 combine) with the tolerance the suite applies, then the median CUDA-event
time of one decode forward at batch 16 per strategy (grouped dispatch), with real activations.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STRATEGIES = ["topk1", "topk2", "topk4", "topp0.5", "ondemand", "budget0.6top2"]


def main(argv=None) -> int:
    """Check, time, print (and write to --out)."""
    import torch

    from sovereign.bench.moe.block import MoEStack
    from sovereign.bench.moe.config import BlockConfig, WorkloadConfig
    from sovereign.bench.moe.routing import parse_strategy
    from sovereign.bench.moe.runner import TOLERANCE, _logit, check_dispatch
    from sovereign.bench.moe.workloads import make_batch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="")
    args = ap.parse_args(argv)
    cuda = torch.cuda.is_available()
    dev, dtype = ("cuda", "bf16") if cuda else ("cpu", "fp32")
    block = BlockConfig(name="moellava_8e", hidden=2048, ffn=5632, experts=8, layers=2, virtual_experts=2) if cuda \
        else BlockConfig()
    stack = MoEStack(block, dtype, dev, 0)
    lines = [f"device {torch.cuda.get_device_name() if cuda else 'cpu'}, {dtype}, grouped impl {stack.grouped_impl}, "
             f"tolerance {TOLERANCE[dtype]} (relative Frobenius error against the loop dispatch)"]
    with torch.inference_mode():
        for phase, samples in (("prefill", 4), ("decode", 16)):
            batch = make_batch("vqav2", phase, samples, WorkloadConfig(), 0)
            x = stack.inputs(batch.tokens, seed=samples)
            prior = _logit(batch.importance).to(dev)
            for name in STRATEGIES:
                s = parse_strategy(name, block.experts)
                errs = [check_dispatch(stack, x, s, prior, sync_free=sf) for sf in ((False, True) if cuda else (False,))]
                lines.append(f"{phase:7s} b={samples:<3d} {name:14s} grouped {errs[0]:.2e}"
                             + (f"  graph {errs[1]:.2e}" if cuda else "")
                             + ("  ok" if max(errs) <= TOLERANCE[dtype] else "  FAIL"))
        if cuda:
            batch = make_batch("vqav2", "decode", 16, WorkloadConfig(), 0)
            x = stack.inputs(batch.tokens, seed=16)
            prior = _logit(batch.importance).to(dev)
            for name in STRATEGIES:
                s = parse_strategy(name, block.experts)
                rec = []
                stack.forward(x, s, "grouped", prior, record=rec)
                for _ in range(20):
                    stack.forward(x, s, "grouped", prior)
                times = []
                for _ in range(200):
                    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    a.record()
                    stack.forward(x, s, "grouped", prior)
                    b.record()
                    b.synchronize()
                    times.append(a.elapsed_time(b))
                times.sort()
                real = sum(r["real_per_token"] for r in rec) / len(rec)
                lines.append(f"decode b=16 grouped {name:14s} p50 {times[100]:.3f} ms  p90 {times[180]:.3f} ms  "
                             f"real experts/token {real:.2f}")
    from sovereign.bench.moe.dispatch import FUSED_ERRORS

    lines.append(f"compiled element-wise steps: {'all compiled' if not FUSED_ERRORS else FUSED_ERRORS}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
