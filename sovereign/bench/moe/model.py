"""An MoE-LLaVA-shaped vision-language model with random weights, whose MoE layers run the suite's routing and dispatch.

Architecture facts (MoE-LLaVA, Lin et al. 2024, arXiv 2401.15947, and its repository
PKU-YuanGroup/MoE-LLaVA):
- vision tower: CLIP ViT-L/14 at 336 px (`--image_tower openai/clip-vit-large-patch14-336`), features
  of the second-to-last layer (`--mm_vision_select_layer -2`) without the class token: 24 x 24 = 576
  visual tokens per image;
- projector: two linear layers with a GELU between them (`--image_projector_type mlp2x_gelu`);
- language model: StableLM-2-1.6B (hidden 2048, 24 layers, 32 heads, FFN 5632, SwiGLU, LayerNorm,
  rotary on a quarter of each head, vocabulary 100352);
- MoE: 4 experts, top-2 (`num_experts=4 top_k_experts=2` in scripts/v1/stablelm/finetune_moe.sh),
  each expert a copy of the layer's FFN, in every other layer starting at the first
  (`--moe_mode sparse`: `list(range(num_layers))[::2]` in moellava/train/train.py).
The tower and the decoder are transformers' own classes (CLIPVisionModel, StableLmForCausalLM) built
from configs; the FFN of each MoE layer is replaced by `RoutedMoE`, which calls `block.moe_ffn`, the
very function the block-level suite times, so one routing code runs at both levels.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn as nn

from .block import TORCH_DTYPES, LayerWeights, moe_ffn
from .config import BlockConfig
from .dispatch import grouped_mm_impl
from .routing import Strategy

# name: (decoder shape, vision shape). "paper" is MoE-LLaVA-StableLM-1.6B-4e; "small" keeps every
# structural feature (tower, projector, MoE every other layer, 4 experts) at a size the CPU runs in seconds.
SHAPES = {
    "moellava-stablelm-1.6b-4e": {
        "decoder": dict(hidden_size=2048, num_hidden_layers=24, num_attention_heads=32, num_key_value_heads=32,
                        intermediate_size=5632, vocab_size=100352),
        "vision": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                       image_size=336, patch_size=14)},
    "moellava-small": {
        "decoder": dict(hidden_size=64, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=4,
                        intermediate_size=128, vocab_size=512),
        "vision": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                       image_size=56, patch_size=14)},
}


@dataclass(frozen=True)
class ModelShape:
    """Which shape, its experts, and how its MoE layers are spaced."""

    name: str = "moellava-small"
    experts: int = 4
    moe_every: int = 2  # MoE-LLaVA's sparse mode: layers 0, 2, 4, ...
    virtual_experts: int = 2  # cheap per-channel experts on-demand routing may use (the block suite's)
    router_scale: float = 2.0

    def decoder(self) -> dict:
        return dict(SHAPES[self.name]["decoder"])

    def vision(self) -> dict:
        return dict(SHAPES[self.name]["vision"])

    @property
    def visual_tokens(self) -> int:
        v = self.vision()
        return (v["image_size"] // v["patch_size"]) ** 2

    def moe_layers(self) -> list[int]:
        return list(range(self.decoder()["num_hidden_layers"]))[::self.moe_every]

    def block(self) -> BlockConfig:
        d = self.decoder()
        return BlockConfig(name=self.name, hidden=d["hidden_size"], ffn=d["intermediate_size"], experts=self.experts,
                           layers=len(self.moe_layers()), activation="swiglu", virtual_experts=self.virtual_experts,
                           router_scale=self.router_scale, key=f"{self.name}.block")


class MoEContext:
    """What every MoE layer of one model reads per forward (strategy, priors) and writes (timings, records)."""

    def __init__(self, device: torch.device, impl: str, block: BlockConfig):
        self.device, self.impl, self.block = device, impl, block
        self.strategy: Strategy | None = None
        self.dispatch = "grouped"
        self.prior: torch.Tensor | None = None  # [tokens] prior importance logits of the forward's tokens
        self.record: list | None = None
        self.events: list | None = None  # (start, end) pairs around each MoE layer call, when timing

    def mark(self):
        """A timestamp: a recorded CUDA event, or perf_counter on a CPU."""
        if self.device.type == "cuda":
            ev = torch.cuda.Event(enable_timing=True)
            ev.record()
            return ev
        return time.perf_counter()


def elapsed_ms(a, b) -> float:
    """Milliseconds between two `mark()`s (after a synchronize for CUDA events)."""
    return a.elapsed_time(b) if hasattr(a, "elapsed_time") else (b - a) * 1e3


class RoutedMoE(nn.Module):
    """The FFN of an MoE layer: the strategy routes each token, the suite's dispatch runs its experts."""

    def __init__(self, weights: LayerWeights, ctx: MoEContext):
        super().__init__()
        self.lw, self.ctx = weights, ctx

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ctx = self.ctx
        start = ctx.mark() if ctx.events is not None else None
        flat = x.reshape(-1, x.shape[-1])
        y = moe_ffn(self.lw, flat, ctx.strategy, ctx.prior, ctx.dispatch, ctx.impl, ctx.block, ctx.record)
        if start is not None:
            ctx.events.append((start, ctx.mark()))
        return y.view_as(x)


class MoELlava(nn.Module):
    """Vision tower + projector + MoE decoder; `encode_images`, `prefill` and `decode_step` are the timed phases."""

    def __init__(self, shape: ModelShape, dtype: str, device: str | torch.device, seed: int = 0):
        super().__init__()
        from transformers import CLIPVisionConfig, CLIPVisionModel, StableLmConfig, StableLmForCausalLM

        self.shape, self.device = shape, torch.device(device)
        self.dtype = TORCH_DTYPES[dtype]
        torch.manual_seed(seed)
        old = torch.get_default_dtype()
        torch.set_default_dtype(self.dtype)
        try:
            with self.device:  # weights drawn where they live: a 3-billion-parameter init on the host takes minutes
                self.vision = CLIPVisionModel(CLIPVisionConfig(**shape.vision(), hidden_act="quick_gelu")).eval()
                d = shape.decoder()
                self.projector = nn.Sequential(nn.Linear(shape.vision()["hidden_size"], d["hidden_size"]), nn.GELU(),
                                               nn.Linear(d["hidden_size"], d["hidden_size"]))
                cfg = StableLmConfig(**d, hidden_act="silu", max_position_embeddings=4096)
                self.lm = StableLmForCausalLM(cfg).eval()
        finally:
            torch.set_default_dtype(old)
        import inspect

        # transformers renamed `past_key_values` to `cache` (5.2x); use whichever this version's forward takes
        self._cache_kw = "cache" if "cache" in inspect.signature(self.lm.forward).parameters else "past_key_values"
        self.block = shape.block()
        self.ctx = MoEContext(self.device, grouped_mm_impl(self.device, self.dtype), self.block)
        g = torch.Generator(device=self.device).manual_seed(seed + 1)
        H, Fd, E, V = self.block.hidden, self.block.ffn, self.block.experts, self.block.virtual_experts

        def rand(*size, std):
            return (torch.randn(*size, generator=g, device=self.device) * std).to(self.dtype)

        self.moe: list[RoutedMoE] = []
        for i in shape.moe_layers():
            lw = LayerWeights(norm=torch.ones(H, device=self.device, dtype=self.dtype),
                              router=rand(E, H, std=self.block.router_scale / H ** 0.5),
                              importance=rand(H, std=0.25 / H ** 0.5), w_in=rand(E, 2 * Fd, H, std=H ** -0.5),
                              w_out=rand(E, H, Fd, std=Fd ** -0.5), vscale=rand(V, H, std=1.0))
            layer = RoutedMoE(lw, self.ctx)
            self.lm.model.layers[i].mlp = layer  # the dense FFN's weights go with it
            self.moe.append(layer)

    @property
    def hidden(self) -> int:
        return self.block.hidden

    def images(self, n: int, seed: int = 0) -> torch.Tensor:
        """Random pixel tensors [n, 3, S, S] (never zeros)."""
        s = self.shape.vision()["image_size"]
        g = torch.Generator(device=self.device).manual_seed(seed)
        return torch.randn(n, 3, s, s, generator=g, device=self.device).to(self.dtype)

    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        """Second-to-last layer's patch features (class token dropped), projected to the decoder: [n, 576, H]."""
        out = self.vision(pixel_values=pixels, output_hidden_states=True)
        return self.projector(out.hidden_states[-2][:, 1:])

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.lm.get_input_embeddings()(ids)

    def forward_lm(self, embeds: torch.Tensor, mask: torch.Tensor, cache, prior: torch.Tensor):
        """One decoder forward over `embeds` [B, L, H]; returns (next-token ids [B], cache)."""
        self.ctx.prior = prior.reshape(-1)
        out = self.lm(inputs_embeds=embeds, attention_mask=mask, use_cache=True, logits_to_keep=1,
                      **{self._cache_kw: cache})
        cache = out["cache"] if "cache" in out else out["past_key_values"]
        return out.logits[:, -1].argmax(dim=-1), cache


def prior_logits(importance: torch.Tensor) -> torch.Tensor:
    """Logit of prior importance in (0, 1), clamped away from the ends."""
    p = importance.float().clamp(1e-4, 1 - 1e-4)
    return torch.log(p) - torch.log1p(-p)


def param_count(model: MoELlava) -> dict:
    """Parameters in billions: total and active per token under top-2 (2 of the experts' FFNs per MoE layer)."""
    total = sum(p.numel() for p in model.parameters())
    experts = sum(m.lw.w_in.numel() + m.lw.w_out.numel() for m in model.moe)
    rest = sum(m.lw.router.numel() + m.lw.importance.numel() + m.lw.vscale.numel() for m in model.moe)
    total += experts + rest
    active = total - experts + experts * 2 / model.block.experts
    return {"params_b": total / 1e9, "active_params_b_top2": active / 1e9}

