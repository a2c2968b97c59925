"""A stack of MoE feed-forward blocks: RMS norm, router, importance head, experts, virtual experts, residual.

Weights are random (seeded): the suite measures speed and routing counts, not accuracy.
Expert weights are stored stacked in `nn.Linear` layout ([experts, out, in]) so the loop
and the grouped dispatch read the very same tensors. The router's logits are scaled by
`router_scale` so its probabilities are peaked like a trained router's, not uniform.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .config import BlockConfig
from .dispatch import dispatch_grouped, dispatch_loop, grouped_mm_impl
from .routing import Routing, Strategy, route

TORCH_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class LayerWeights:
    """One block's parameters."""

    norm: torch.Tensor  # [H]
    router: torch.Tensor  # [E, H]
    importance: torch.Tensor  # [H]: the token-importance head on-demand routing reads
    w_in: torch.Tensor  # [E, F_in, H]; F_in = 2F for SwiGLU (gate | up), F for GELU
    w_out: torch.Tensor  # [E, H, F]
    vscale: torch.Tensor  # [V, H]: virtual experts, one per-channel scale each


class MoEStack:
    """`layers` MoE blocks run as residual feed-forward layers with a chosen strategy and dispatch."""

    def __init__(self, block: BlockConfig, dtype: str, device: str | torch.device, seed: int = 0):
        self.block = block
        self.dtype = TORCH_DTYPES[dtype]
        self.device = torch.device(device)
        g = torch.Generator(device=self.device).manual_seed(seed)  # drawn on the device: fast, seeded per device
        H, Fd, E = block.hidden, block.ffn, block.experts
        f_in = 2 * Fd if block.activation == "swiglu" else Fd

        def rand(*shape, std):
            return (torch.randn(*shape, generator=g, device=self.device) * std).to(self.dtype)

        self.layers = [LayerWeights(
            norm=torch.ones(H, device=self.device, dtype=self.dtype),
            router=rand(E, H, std=block.router_scale / H ** 0.5),
            importance=rand(H, std=0.25 / H ** 0.5),
            w_in=rand(E, f_in, H, std=H ** -0.5),
            w_out=rand(E, H, Fd, std=Fd ** -0.5),
            vscale=rand(block.virtual_experts, H, std=1.0),
        ) for _ in range(block.layers)]
        self.grouped_impl = grouped_mm_impl(self.device, self.dtype)

    def inputs(self, tokens: int, seed: int = 0) -> torch.Tensor:
        """Random hidden states [tokens, H] (never zeros: zeros would time faster than real data)."""
        g = torch.Generator(device=self.device).manual_seed(seed)
        return torch.randn(tokens, self.block.hidden, generator=g, device=self.device).to(self.dtype)

    def layer_routing(self, lw: LayerWeights, h: torch.Tensor, strategy: Strategy,
                      prior_logit: torch.Tensor | None) -> Routing:
        """Router and importance head on normalised states, then the strategy's decisions."""
        return layer_routing(lw, h, strategy, prior_logit, self.block.virtual_experts)

    def forward(self, x: torch.Tensor, strategy: Strategy, dispatch: str, prior_logit: torch.Tensor | None = None,
                record: list | None = None) -> torch.Tensor:
        """Run the stack; with `record`, append each layer's routing counts and executed rows."""
        for lw in self.layers:
            h = F.rms_norm(x, (x.shape[-1],), lw.norm)
            x = x + moe_ffn(lw, h, strategy, prior_logit, dispatch, self.grouped_impl, self.block, record)
        return x

    def weight_bytes_per_expert(self) -> int:
        """Bytes of one expert's two projections."""
        lw = self.layers[0]
        return (lw.w_in[0].numel() + lw.w_out[0].numel()) * lw.w_in.element_size()


def layer_routing(lw: LayerWeights, h: torch.Tensor, strategy: Strategy, prior_logit: torch.Tensor | None,
                  virtual_experts: int) -> Routing:
    """Router and importance head on normalised states [T, H], then the strategy's decisions."""
    logits = F.linear(h, lw.router)
    importance = None
    if strategy.kind in ("ondemand", "budget"):  # only these strategies read the importance head
        importance = torch.sigmoid(prior_logit + (h @ lw.importance).float())
    return route(strategy, logits, importance, virtual_experts)


def moe_ffn(lw: LayerWeights, h: torch.Tensor, strategy: Strategy, prior_logit: torch.Tensor | None, dispatch: str,
            impl: str, block: BlockConfig, record: list | None = None) -> torch.Tensor:
    """One MoE feed-forward on normalised states [T, H]: route, dispatch, combine (block and model level share it)."""
    routing = layer_routing(lw, h, strategy, prior_logit, block.virtual_experts)
    stats = {} if record is not None else None
    if dispatch == "loop":
        y = dispatch_loop(h, routing, lw.w_in, lw.w_out, lw.vscale, block.activation, stats)
    else:  # grouped, or graph: the same sync-free grouped dispatch, replayed from a CUDA graph
        y = dispatch_grouped(h, routing, lw.w_in, lw.w_out, lw.vscale, block.activation, impl, stats,
                             sync_free=dispatch == "graph")
    if record is not None:
        record.append({**routing.counts(), "rows": stats["rows"], "gathered": stats["gathered"],
                       "has_virtual": routing.has_virtual, "importance": strategy.kind in ("ondemand", "budget"),
                       "exact": routing.exact, "routing": routing})
    return y
