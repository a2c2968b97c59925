"""Where the time of one MoE routing forward goes: kernel table of the grouped dispatch on a GPU.

    python3 benchmarks/profile_moe.py --samples 512 --strategy topk2 --dispatch grouped --out $OUT/moe_profile.txt

Builds the GPU grid's block (MoE-LLaVA-StableLM-sized: hidden 2048, FFN 5632, 8 experts, 2 layers,
SwiGLU) in bf16, a prefill batch of `samples` x (576 visual + 8 text) tokens, times the forward
with CUDA events, then profiles a few forwards and prints the kernels that take the time, with the
share of the time spent in matrix products against everything else (routing, sort, gather, scatter,
activation, norm). The achieved TFLOP/s counts the expert projections only, as the suite's rows do.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv=None) -> int:
    """Time and profile one configuration; print the table (and write it to --out)."""
    import torch

    from sovereign.bench.moe.block import MoEStack
    from sovereign.bench.moe.config import BlockConfig
    from sovereign.bench.moe.routing import parse_strategy

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=512)
    ap.add_argument("--tokens-per-sample", type=int, default=584)
    ap.add_argument("--strategy", default="topk2")
    ap.add_argument("--dispatch", default="grouped", choices=["grouped", "graph", "loop"])
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--out", default="")
    args = ap.parse_args(argv)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    block = BlockConfig(name="moellava_8e", hidden=2048, ffn=5632, experts=8, layers=2, activation="swiglu",
                        virtual_experts=2, router_scale=2.0) if dev == "cuda" else BlockConfig()
    samples = args.samples if dev == "cuda" else 2
    stack = MoEStack(block, "bf16" if dev == "cuda" else "fp32", dev, 0)
    strategy = parse_strategy(args.strategy, block.experts)
    x = stack.inputs(samples * args.tokens_per_sample)
    prior = torch.zeros(x.shape[0], device=dev)
    step = lambda: stack.forward(x, strategy, args.dispatch, prior)  # noqa: E731
    for _ in range(3):
        step()
    lines = []
    if dev == "cuda":
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(args.iterations):
            step()
        end.record()
        torch.cuda.synchronize()
        ms = start.elapsed_time(end) / args.iterations
        tokens = x.shape[0]
        k = strategy.max_slots
        # per token and slot: w_in (H -> 2F for SwiGLU) and w_out (F -> H), 2 FLOP per multiply-add
        flops = 2 * tokens * k * block.layers * (block.hidden * 2 * block.ffn + block.ffn * block.hidden)
        lines.append(f"{args.strategy} {args.dispatch} samples={samples} tokens={tokens}: {ms:.3f} ms per forward, "
                     f"{flops / ms / 1e9:.1f} TFLOP/s in the expert projections")
    from torch.profiler import ProfilerActivity, profile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev == "cuda" else [])
    with profile(activities=acts) as prof:
        for _ in range(3):
            step()
        if dev == "cuda":
            torch.cuda.synchronize()
    averages = prof.key_averages()
    names = ("self_device_time_total", "self_cuda_time_total") if dev == "cuda" else ("self_cpu_time_total",)
    key = next(n for n in names if averages and hasattr(averages[0], n))  # torch renamed cuda -> device
    # device time: kernels only (the aten:: operator rows repeat their kernels' time on the host side)
    events = [e for e in averages if getattr(e, key, 0) and (dev != "cuda" or not e.key.startswith("aten::"))]
    seen, unique = set(), []
    for e in events:  # compiled (Triton) kernels can be listed twice with identical totals: count each once
        if (e.key, getattr(e, key), e.count) not in seen:
            seen.add((e.key, getattr(e, key), e.count))
            unique.append(e)
    events = unique
    total = sum(getattr(e, key) for e in events) or 1.0
    gemm = sum(getattr(e, key) for e in events if any(w in e.key.lower() for w in ("gemm", "xmma", "cutlass", "mm")))
    lines.append(f"matrix-product kernels: {gemm / total:.1%} of device time; everything else {1 - gemm / total:.1%}")
    for e in sorted(events, key=lambda e: -getattr(e, key))[:15]:
        lines.append(f"{getattr(e, key) / total:6.1%}  {getattr(e, key) / 1000 / 3:9.3f} ms/forward  x{e.count // 3:<4} "
                     f"{e.key[:110]}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
