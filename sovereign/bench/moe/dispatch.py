"""Two ways to run the experts a `Routing` chose: a per-expert loop and a sorted/grouped dispatch.

The loop gathers each expert's tokens and runs its FFN with two matrix products (the
Hugging Face Mixtral way). The grouped dispatch sorts all real slots by expert and runs
every expert in one grouped matrix product per projection (`torch.nn.functional.grouped_mm`
or `torch._grouped_mm` where this torch has them and they work for the device and dtype),
else in padded batched products (`torch.bmm` over [experts, capacity, hidden]). The loop adds
in float32 (the reference); the grouped dispatch combines in the input dtype. `rows` in the
stats is what the expert products really ran, `gathered` the rows gathered and scattered.
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


def _swiglu_weighted(h: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """silu(gate) * up * w per row: the slot's combine weight folded in (rows are linear in the second product)."""
    gate, up = h.chunk(2, dim=-1)
    return F.silu(gate) * up * w[:, None]


def _gelu_weighted(h: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return F.gelu(h) * w[:, None]


def _combine(y: torch.Tensor, slot_row: torch.Tensor, tokens: int, slots: int) -> torch.Tensor:
    """out[t] = sum over t's slots of y[slot_row] (a gather and sum; slot_row -1 for slots without a row)."""
    take = y[slot_row.clamp_min(0)]
    take = torch.where((slot_row >= 0)[:, None], take, torch.zeros((), dtype=y.dtype, device=y.device))
    return take.view(tokens, slots, -1).sum(dim=1)


_FUSED: dict = {}
FUSED_ERRORS: dict = {}  # why a compiled step fell back to eager, by name (reported by the kernel check)


def use_fused(x: torch.Tensor) -> bool:
    """Compiled element-wise steps on CUDA only (on a CPU, compiling costs more than the default run's forwards)."""
    return x.is_cuda


def fused(name: str):
    """The compiled (one-kernel) form of an element-wise step on CUDA, or None where it cannot compile.

    Eager SwiGLU on the [gate | up] halves runs two strided kernels over the largest tensor of the
    block (43% of a top-2 prefill with the float32 combine, 25% without, on the H200); compiled, the
    activation, the combine weight and the slot sum each become one pass.
    """
    if name not in _FUSED:
        fn = {"swiglu": _swiglu_weighted, "gelu": _gelu_weighted, "combine": _combine}[name]
        try:
            compiled = torch.compile(fn, dynamic=True)
        except Exception:  # no inductor here: the eager kernels run instead
            _FUSED[name] = fn
            return fn

        def run(*args):
            try:
                return compiled(*args)
            except Exception as exc:  # compiling failed at first call (no triton, say): eager from now on
                _FUSED[name] = fn
                FUSED_ERRORS[name] = f"{type(exc).__name__}: {str(exc)[:200]}"
                return fn(*args)

        _FUSED[name] = run
    return _FUSED[name]


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


def add_virtual(out: torch.Tensor, x: torch.Tensor, routing: Routing, vscale: torch.Tensor) -> torch.Tensor:
    """`out` plus the cheap virtual experts (a per-channel scale each), weighted by their slots.

    Only a strategy that can fill virtual slots pays for this. Vectorised: the per-token weight of
    each virtual expert ([T, V], one scatter) times the scales ([V, H]) is one small matrix product.
    """
    if vscale.shape[0] == 0 or not routing.has_virtual:
        return out
    virtual = routing.virtual_mask()
    vid = (routing.experts - routing.num_experts).clamp(0, vscale.shape[0] - 1)
    vw = torch.where(virtual, routing.weights, torch.zeros((), dtype=routing.weights.dtype, device=out.device))
    coeff = torch.zeros(vid.shape[0], vscale.shape[0], dtype=routing.weights.dtype, device=out.device)
    coeff.scatter_add_(1, vid, vw)  # [T, V]; zero where the token has no such slot
    return out + x * (coeff.to(vscale.dtype) @ vscale).to(out.dtype)


def dispatch_loop(x: torch.Tensor, routing: Routing, w_in: torch.Tensor, w_out: torch.Tensor,
                  vscale: torch.Tensor, activation: str, stats: dict | None = None) -> torch.Tensor:
    """Per-expert loop (the reference): gather each expert's tokens, run its FFN, scatter-add in float32."""
    out = torch.zeros(x.shape, device=x.device, dtype=torch.float32)
    rows = 0
    for e in range(w_in.shape[0]):
        tok, slot = torch.where(routing.experts == e)
        if tok.numel() == 0:
            continue
        y = F.linear(activate(F.linear(x[tok], w_in[e]), activation), w_out[e])
        out.index_add_(0, tok, y.float() * routing.weights[tok, slot, None])
        rows += tok.numel()
    if vscale.shape[0] and routing.has_virtual:
        out = add_virtual(out, x.float(), routing, vscale.float())
    if stats is not None:
        stats["rows"] = rows
        stats["gathered"] = rows
    return out.to(x.dtype)


def dispatch_grouped(x: torch.Tensor, routing: Routing, w_in: torch.Tensor, w_out: torch.Tensor,
                     vscale: torch.Tensor, activation: str, impl: str, stats: dict | None = None,
                     sync_free: bool = False) -> torch.Tensor:
    """Sorted dispatch: order real slots by expert, one grouped (or padded batched) product per projection.

    Every strategy follows one policy: no device value is read on the host (so a CUDA graph can
    capture any of them). The dispatch gathers `routing.capacity` rows, a number the strategy
    knows on the host: exact for top-k and budget routing, an upper bound (T x slots) for top-p
    and on-demand, whose rows past the last real one are masked out of the sum. The combine runs
    in the input dtype: weighted outputs are copied back to their (token, slot) place and summed
    over slots (no float32 copy, no atomic scatter). Grouped products are always sync-free;
    `sync_free` (a graph capture) refuses the padded-bmm fallback, which reads the largest group's size.
    """
    num_experts = w_in.shape[0]
    T, S = routing.experts.shape
    flat = routing.experts.reshape(-1)
    real = (flat >= 0) & (flat < num_experts)
    key = torch.where(real, flat, torch.full_like(flat, num_experts))  # non-real slots sort last
    order = key.argsort(stable=True)
    counts = torch.zeros(num_experts + 1, dtype=torch.long, device=x.device)
    counts = counts.scatter_add_(0, key, torch.ones_like(key))[:num_experts]  # bincount would sync on CUDA
    n = routing.capacity
    order = order[:n]
    tok = torch.div(order, S, rounding_mode="floor")
    w = routing.weights.reshape(-1)[order].to(x.dtype)
    xs = x[tok]
    if impl == "padded_bmm":
        if sync_free:
            raise ValueError("a sync-free (graph) dispatch needs grouped_mm; this torch/device only offers padded bmm")
        cap = int(counts.max())  # the fallback's one host read, the same for every strategy
        ends = torch.cumsum(counts, 0)
        valid = torch.arange(n, device=x.device) < ends[-1]
        expert = torch.where(valid, key[order], 0)
        pos = torch.where(valid, torch.arange(n, device=x.device) - (ends - counts)[expert], cap)
        xp = x.new_zeros((num_experts, cap + 1, x.shape[-1]))  # row `cap`: where non-real rows land, unused
        xp[expert, pos] = xs
        h = activate(torch.bmm(xp, w_in.transpose(1, 2)), activation)
        y = torch.bmm(h, w_out.transpose(1, 2))[expert, pos]
        rows = num_experts * cap
    elif use_fused(x) and fused("combine") is not None:
        return _grouped_fused(x, routing, w_in, w_out, vscale, activation, impl, stats, counts, order, tok, w, xs, n)
    else:
        ends = torch.cumsum(counts, 0).to(torch.int32)
        mm = _grouped(impl)
        h = activate(mm(xs, w_in.transpose(-2, -1), offs=ends), activation)
        y = mm(h, w_out.transpose(-2, -1), offs=ends)
        rows = n
    y = y.mul_(w[:, None])  # in place: the grouped product's output is ours
    if not routing.exact:  # rows past the last real slot hold no expert output: zero them
        y = torch.where((torch.arange(n, device=x.device) < ends[-1])[:, None], y, torch.zeros((), dtype=y.dtype, device=y.device))
    if S == 1 and n == T:
        out = torch.empty_like(x).index_copy_(0, order, y)
    else:
        out = x.new_zeros((T * S, x.shape[-1])).index_copy_(0, order, y).view(T, S, -1).sum(dim=1)
    out = add_virtual(out, x, routing, vscale)
    if stats is not None:
        stats["rows"] = int(ends[-1]) if impl != "padded_bmm" and not routing.exact else rows
        stats["gathered"] = n
    return out


def _grouped_fused(x, routing, w_in, w_out, vscale, activation, impl, stats, counts, order, tok, w, xs, n):
    """The grouped dispatch on CUDA with compiled element-wise steps: activation x weight in one pass, combine in one."""
    T, S = routing.experts.shape
    ends = torch.cumsum(counts, 0).to(torch.int32)
    mm = _grouped(impl)
    act = fused("swiglu" if activation == "swiglu" else "gelu") or (_swiglu_weighted if activation == "swiglu" else _gelu_weighted)
    valid = torch.arange(n, device=x.device) < ends[-1]
    # a row past the last real slot gets weight 0 and no slot points at it, so garbage there never reaches out
    h = act(mm(xs, w_in.transpose(-2, -1), offs=ends), torch.where(valid, w, torch.zeros((), dtype=w.dtype, device=x.device)))
    y = mm(h, w_out.transpose(-2, -1), offs=ends)
    slot_row = torch.full((T * S,), -1, dtype=torch.long, device=x.device)
    slot_row.index_copy_(0, order, torch.where(valid, torch.arange(n, device=x.device), -1))
    # one slot per token: the combine is a plain gather (eager; a compiled graph specialised to one slot buys nothing)
    out = _combine(y, slot_row, T, S) if S == 1 else fused("combine")(y, slot_row, T, S)
    out = add_virtual(out, x, routing, vscale)
    if stats is not None:
        stats["rows"] = n if routing.exact else int(ends[-1])
        stats["gathered"] = n
    return out
