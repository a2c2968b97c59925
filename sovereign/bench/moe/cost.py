"""Work and traffic of one stack forward, counted from what really ran.

FLOPs are the matrix products' 2*m*n*k (router, importance head, expert projections over the
rows each dispatch really computed, padding included) plus the virtual experts' and the
combine's multiply-adds; element-wise activations and norms are left out (a few per cent at
these sizes). Bytes are a lower bound on device-memory traffic: each expert that got at least
one token has its weights read once per layer, and each activation tensor is written once
and read once. Their ratio, the arithmetic intensity, says whether a point can be
compute-bound (above rate/bandwidth, about 165-206 FLOP/byte for bf16 on an H200) or not.
"""
from __future__ import annotations

from .config import BlockConfig


def stack_cost(block: BlockConfig, layers: list[dict], elem_bytes: int) -> dict:
    """FLOPs (executed and useful), bytes (weights and total) and intensity of one forward over `layers` records."""
    H, Fd, E = block.hidden, block.ffn, block.experts
    f_in = 2 * Fd if block.activation == "swiglu" else Fd
    per_row = 2 * H * f_in + 2 * Fd * H
    flops = useful = w_bytes = act_bytes = 0
    for rec in layers:
        T, real, virt = rec["tokens"], rec["real"], rec["virtual"]
        fixed = 2 * T * H * E + 2 * T * H + 2 * H * (real + virt) + 2 * H * virt
        flops += fixed + per_row * rec["rows"]
        useful += fixed + per_row * real
        w_bytes += (rec["experts_touched"] * (f_in * H + H * Fd) + E * H + H) * elem_bytes
        w_bytes += block.virtual_experts * H * elem_bytes if virt else 0
        # hidden in/out, normalised copy, gathered rows, the two intermediates, expert outputs (fp32 sum)
        act_bytes += 2 * T * H * elem_bytes * 2 + 2 * T * H * 4
        act_bytes += 2 * rec["rows"] * (H + f_in + Fd + H) * elem_bytes
    total = w_bytes + act_bytes
    return {"flops": flops, "flops_useful": useful, "bytes_weights": w_bytes, "bytes": total,
            "arithmetic_intensity": flops / total if total else 0.0}
