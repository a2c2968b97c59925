"""Two ways to run the experts a `Routing` chose: a per-expert loop and a sorted/grouped dispatch.

The loop gathers each expert's tokens and runs its FFN with two matrix products (the
Hugging Face Mixtral way). The grouped dispatch sorts all real slots by expert and runs
every expert in one grouped matrix product per projection (`torch.nn.functional.grouped_mm`
or `torch._grouped_mm` where this torch has them and they work for the device and dtype),
else in padded batched products (`torch.bmm` over [experts, capacity, hidden]). Both add
results in float32 and compute the same function; `rows` in the stats is what really ran.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .routing import Routing

_PROBED: dict = {}


def activate(h: torch.Tensor, activation: str) -> torch.Tensor:
    """SwiGLU on [gate | up] halves, or GELU."""
    if activation == "swiglu":
        gate, up = h.chunk(2, dim=-1)
        return F.silu(gate) * up
    return F.gelu(h)


def grouped_mm_impl(device: torch.device, dtype: torch.dtype) -> str:
    """Which grouped product works here: 'grouped_mm', '_grouped_mm' or 'padded_bmm' (probed once)."""
    key = (str(device), dtype)
    if key in _PROBED:
        return _PROBED[key]
    impl = "padded_bmm"
    for name, fn in (("grouped_mm", getattr(F, "grouped_mm", None)), ("_grouped_mm", getattr(torch, "_grouped_mm", None))):
        if fn is None:
            continue
        try:
            a = torch.randn(48, 32, device=device, dtype=dtype)
            w = torch.randn(3, 16, 32, device=device, dtype=dtype)
            offs = torch.tensor([16, 16, 48], device=device, dtype=torch.int32)
            out = fn(a, w.transpose(-2, -1), offs=offs)
            ref = torch.cat([a[:16] @ w[0].T, a[16:48] @ w[2].T]).float()
            if torch.allclose(out.float(), ref, rtol=5e-2, atol=5e-1):
                impl = name
                break
        except Exception:  # not implemented for this device/dtype: try the next, then pad
            continue
    _PROBED[key] = impl
    return impl


def _grouped(impl: str):
    return F.grouped_mm if impl == "grouped_mm" else torch._grouped_mm


def add_virtual(out: torch.Tensor, x: torch.Tensor, routing: Routing, vscale: torch.Tensor) -> None:
    """Add the cheap virtual experts (a per-channel scale each) into `out`, weighted by their slots."""
    if vscale.shape[0] == 0 or routing.dense:
        return
    virtual = routing.virtual_mask()
    vid = (routing.experts - routing.num_experts).clamp_min(0)
    vw = torch.where(virtual, routing.weights, torch.zeros_like(routing.weights))
    for v in range(vscale.shape[0]):
        coeff = (vw * (vid == v)).sum(dim=-1, keepdim=True)  # [T, 1]; zero where the token has no such slot
        out.add_(x.float() * coeff * vscale[v].float())


def dispatch_loop(x: torch.Tensor, routing: Routing, w_in: torch.Tensor, w_out: torch.Tensor,
                  vscale: torch.Tensor, activation: str, stats: dict | None = None) -> torch.Tensor:
    """Per-expert loop: gather each expert's tokens, run its FFN, scatter-add the weighted result."""
    out = torch.zeros(x.shape, device=x.device, dtype=torch.float32)
    rows = 0
    for e in range(w_in.shape[0]):
        tok, slot = torch.where(routing.experts == e)
        if tok.numel() == 0:
            continue
        y = F.linear(activate(F.linear(x[tok], w_in[e]), activation), w_out[e])
        out.index_add_(0, tok, y.float() * routing.weights[tok, slot, None])
        rows += tok.numel()
    add_virtual(out, x, routing, vscale)
    if stats is not None:
        stats["rows"] = rows
    return out.to(x.dtype)


def dispatch_grouped(x: torch.Tensor, routing: Routing, w_in: torch.Tensor, w_out: torch.Tensor,
                     vscale: torch.Tensor, activation: str, impl: str, stats: dict | None = None,
                     sync_free: bool = False) -> torch.Tensor:
    """Sorted dispatch: order real slots by expert, one grouped (or padded batched) product per projection.

    `sync_free` never reads a device value on the host (so a CUDA graph can capture it): all
    T*S slots are gathered, the grouped product ignores rows past the last real one, and those
    rows are masked out of the sum.
    """
    if sync_free and impl == "padded_bmm":
        raise ValueError("a sync-free (graph) dispatch needs grouped_mm; this torch/device only offers padded bmm")
    num_experts = w_in.shape[0]
    T, S = routing.experts.shape
    flat = routing.experts.reshape(-1)
    real = (flat >= 0) & (flat < num_experts)
    key = torch.where(real, flat, torch.full_like(flat, num_experts))  # non-real slots sort last
    order = key.argsort(stable=True)
    counts = torch.zeros(num_experts + 1, dtype=torch.long, device=x.device)
    counts = counts.scatter_add_(0, key, torch.ones_like(key))[:num_experts]  # bincount would sync on CUDA
    n = T * S if routing.dense or sync_free else int(counts.sum())  # else one host sync per layer
    order = order[:n]
    tok = torch.div(order, S, rounding_mode="floor")
    w = routing.weights.reshape(-1)[order]
    xs = x[tok]
    if impl == "padded_bmm":
        expert = key[order]
        cap = int(counts.max())
        starts = torch.cumsum(counts, 0) - counts
        pos = torch.arange(n, device=x.device) - starts[expert]
        xp = x.new_zeros((num_experts, cap, x.shape[-1]))
        xp[expert, pos] = xs
        h = activate(torch.bmm(xp, w_in.transpose(1, 2)), activation)
        y = torch.bmm(h, w_out.transpose(1, 2))[expert, pos]
        rows = num_experts * cap
    else:
        offs = torch.cumsum(counts, 0).to(torch.int32)
        mm = _grouped(impl)
        h = activate(mm(xs, w_in.transpose(-2, -1), offs=offs), activation)
        y = mm(h, w_out.transpose(-2, -1), offs=offs)
        rows = n
    contrib = y.float() * w[:, None]
    if sync_free and not routing.dense:
        valid = torch.arange(n, device=x.device) < offs[-1]
        contrib = torch.where(valid[:, None], contrib, torch.zeros((), device=x.device))
        rows = int(offs[-1]) if stats is not None else n
    out = torch.zeros(x.shape, device=x.device, dtype=torch.float32)
    out.index_add_(0, tok, contrib)
    add_virtual(out, x, routing, vscale)
    if stats is not None:
        stats["rows"] = rows
    return out.to(x.dtype)
