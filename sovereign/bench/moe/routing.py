"""Routing strategies: top-k, threshold top-p, budgeted on-demand routing (AnyExperts manner), and a claimed budget.

Every strategy turns router probabilities into a `Routing`: per token a fixed number of
slots, each holding an expert id and a combine weight. Ids 0..E-1 are real experts,
E..E+V-1 cheap virtual experts, -1 an empty slot. All decisions are tensor operations on
the device (no host synchronisation), so routing cost is part of the timed forward pass.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .strategy import EMPTY, OnDemandConfig, Strategy, parse_strategy  # noqa: F401 - re-exported


@dataclass
class Routing:
    """Per-token slots: `experts` [T, S] (ids; -1 empty; >= num_experts virtual) and `weights` [T, S]."""

    experts: torch.Tensor
    weights: torch.Tensor
    num_experts: int
    # Rows the dispatch gathers, known on the host without reading a device value: the exact number
    # of real slots where the strategy fixes it (top-k, budget), else the upper bound T x slots.
    capacity: int = -1
    exact: bool = False  # capacity is the real-slot count (no row past it needs masking)
    has_virtual: bool = False  # the strategy can fill virtual slots (only then is virtual work done)

    def __post_init__(self):
        if self.capacity < 0:
            self.capacity = int(self.experts.numel())

    @property
    def dense(self) -> bool:
        """Every slot holds a real expert (top-k)."""
        return self.exact and self.capacity == self.experts.numel()

    def real_mask(self) -> torch.Tensor:
        """Slots filled by a real expert."""
        return (self.experts >= 0) & (self.experts < self.num_experts)

    def virtual_mask(self) -> torch.Tensor:
        """Slots filled by a virtual expert."""
        return self.experts >= self.num_experts

    def counts(self) -> dict:
        """Real and virtual activations, in total and per token, and the real experts touched."""
        tokens = int(self.experts.shape[0])
        real = int(self.real_mask().sum())
        virtual = int(self.virtual_mask().sum())
        touched = int(torch.unique(self.experts[self.real_mask()]).numel())
        return {"tokens": tokens, "real": real, "virtual": virtual, "experts_touched": touched,
                "real_per_token": real / tokens if tokens else 0.0,
                "virtual_per_token": virtual / tokens if tokens else 0.0,
                "virtual_share": virtual / (real + virtual) if real + virtual else 0.0}


def _normalise(probs: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Renormalise kept slot probabilities to sum to one per token (empty slots weigh zero)."""
    w = torch.where(keep, probs, torch.zeros_like(probs))
    return w / w.sum(dim=-1, keepdim=True).clamp_min(1e-9)


def route_topk(probs: torch.Tensor, k: int) -> Routing:
    """The k most probable experts per token, weights renormalised over them."""
    top_p, top_i = probs.topk(k, dim=-1)
    keep = torch.ones_like(top_i, dtype=torch.bool)
    return Routing(top_i, _normalise(top_p, keep), probs.shape[-1], capacity=top_i.numel(), exact=True)


def route_topp(probs: torch.Tensor, p: float, max_k: int) -> Routing:
    """Experts in order of probability until the cumulative probability reaches p, at most max_k, at least one."""
    top_p, top_i = probs.topk(max_k, dim=-1)
    before = top_p.cumsum(dim=-1) - top_p  # probability mass of the slots ahead of each slot
    keep = before < p
    keep[:, 0] = True
    experts = torch.where(keep, top_i, torch.full_like(top_i, EMPTY))
    return Routing(experts, _normalise(top_p, keep), probs.shape[-1], capacity=experts.numel(), exact=False)


def slots_for_importance(importance: torch.Tensor, k_min: int, k_max: int) -> torch.Tensor:
    """Slot count per token: k_min + floor(importance * (k_max - k_min + 1)), clipped to [k_min, k_max]."""
    n = k_min + torch.floor(importance.float().clamp(0, 1) * (k_max - k_min + 1)).long()
    return n.clamp(k_min, k_max)


def route_ondemand(probs: torch.Tensor, importance: torch.Tensor, cfg: OnDemandConfig,
                   virtual_experts: int) -> Routing:
    """AnyExperts-style budgeted routing: importance sets the slot count; weak slots go to virtual experts, capped."""
    num_experts = probs.shape[-1]
    top_p, top_i = probs.topk(cfg.k_max, dim=-1)
    slots = slots_for_importance(importance, cfg.k_min, cfg.k_max)
    pos = torch.arange(cfg.k_max, device=probs.device).expand_as(top_i)
    valid = pos < slots[:, None]
    if virtual_experts > 0 and cfg.virtual_cap > 0:
        # A slot after the first whose expert is much less likely than the token's best is a
        # candidate for a cheap virtual expert; the batch-wide budget keeps the weakest ones.
        cand = valid & (pos >= 1) & (top_p < cfg.virtual_threshold * top_p[:, :1])
        budget = torch.floor(valid.sum() * cfg.virtual_cap)
        score = torch.where(cand, top_p, torch.full_like(top_p, float("inf"))).flatten()
        order = score.argsort(stable=True)
        rank = torch.empty_like(order)
        rank[order] = torch.arange(order.numel(), device=order.device)
        virtual = cand & (rank.view_as(cand) < budget)
    else:
        virtual = torch.zeros_like(valid)
    experts = torch.where(virtual, num_experts + top_i % max(virtual_experts, 1), top_i)
    experts = torch.where(valid, experts, torch.full_like(experts, EMPTY))
    return Routing(experts, _normalise(top_p, valid), num_experts, capacity=experts.numel(), exact=False,
                   has_virtual=virtual_experts > 0 and cfg.virtual_cap > 0)


def route_budget(probs: torch.Tensor, importance: torch.Tensor, share: float, ref_k: int) -> Routing:
    """A claimed activation budget: on average `share` x `ref_k` real experts per token, the most important
    tokens getting the extra slot, each token's slots filled with its most probable experts (no virtual ones)."""
    tokens, num_experts = probs.shape
    mean = share * ref_k
    low = int(math.floor(mean + 1e-9))
    extra = int(round((mean - low) * tokens))  # tokens that get low + 1 experts, so the batch spends the budget
    slots = max(1, low + (1 if extra else 0))
    top_p, top_i = probs.topk(slots, dim=-1)
    count = torch.full((tokens,), low, dtype=torch.long, device=probs.device)
    if extra:  # the `extra` most important tokens get one more slot
        count.index_fill_(0, importance.float().topk(extra).indices, low + 1)
    valid = torch.arange(slots, device=probs.device).expand_as(top_i) < count[:, None]
    experts = torch.where(valid, top_i, torch.full_like(top_i, EMPTY))
    # the real-slot count is fixed by the budget (low per token, plus one for `extra` tokens): no sync to know it
    return Routing(experts, _normalise(top_p, valid), num_experts, capacity=low * tokens + extra, exact=True)


def route(strategy: Strategy, logits: torch.Tensor, importance: torch.Tensor | None = None,
          virtual_experts: int = 0) -> Routing:
    """Route tokens from router logits [T, E] with a parsed strategy."""
    probs = torch.softmax(logits.float(), dim=-1)
    if strategy.kind == "topk":
        return route_topk(probs, strategy.k)
    if strategy.kind == "topp":
        return route_topp(probs, strategy.p, strategy.max_k)
    if importance is None:
        raise ValueError(f"{strategy.kind} routing needs a token-importance score")
    if strategy.kind == "budget":
        return route_budget(probs, importance, strategy.share, strategy.k)
    return route_ondemand(probs, importance, strategy.ondemand, virtual_experts)
