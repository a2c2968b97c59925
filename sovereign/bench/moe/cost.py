"""Work and traffic of one stack forward, counted from what really ran, per strategy.

FLOPs are the matrix products' 2*m*n*k: the router, the importance head (only for strategies
that read it: on-demand, budget), the expert projections over the rows each dispatch really
computed (padding included), the virtual experts (only where the strategy can fill virtual
slots: a [T, V] x [V, H] product and a multiply-add) and the combine's multiply and slot sum.
Element-wise activations, norms and the sort are left out (a few per cent at these sizes).
Bytes are a lower bound on device-memory traffic: each expert that got at least one token has
its weights read once per layer; each activation tensor is written once and read once, with
the gathered rows (`gathered`: the strategy's capacity, an upper bound for top-p and
on-demand) counted in the gather and the combine. Their ratio, the arithmetic intensity, says
whether a point can be compute-bound (above rate/bandwidth, about 165-206 FLOP/byte for bf16
on an H200) or not.
"""
from __future__ import annotations

from .config import BlockConfig


def stack_cost(block: BlockConfig, layers: list[dict], elem_bytes: int) -> dict:
    """FLOPs (executed and useful), bytes (weights and total) and intensity of one forward over `layers` records."""
    H, Fd, E, V = block.hidden, block.ffn, block.experts, block.virtual_experts
    f_in = 2 * Fd if block.activation == "swiglu" else Fd
    per_row = 2 * H * f_in + 2 * Fd * H
    flops = useful = w_bytes = act_bytes = 0
    for rec in layers:
        T, real, virt = rec["tokens"], rec["real"], rec["virtual"]
        gathered = rec.get("gathered", rec["rows"])
        fixed = 2 * T * H * E + 2 * H * gathered  # router; weight multiply and slot sum of the combine
        fixed += 2 * T * H if rec.get("importance", True) else 0
        fixed += (2 * T * V * H + 2 * T * H) if rec.get("has_virtual", virt > 0) else 0
        flops += fixed + per_row * rec["rows"]
        useful += fixed + per_row * real
        w_bytes += (rec["experts_touched"] * (f_in * H + H * Fd) + E * H + H) * elem_bytes
        w_bytes += V * H * elem_bytes if rec.get("has_virtual", virt > 0) else 0
        # hidden in/out and the normalised copy; gathered rows in, expert outputs back (both `gathered` rows)
        act_bytes += 3 * 2 * T * H * elem_bytes
        act_bytes += 2 * rec["rows"] * (f_in + Fd) * elem_bytes + 2 * 2 * gathered * H * elem_bytes
    total = w_bytes + act_bytes
    return {"flops": flops, "flops_useful": useful, "bytes_weights": w_bytes, "bytes": total,
            "arithmetic_intensity": flops / total if total else 0.0}
