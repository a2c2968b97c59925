"""Every routing strategy runs the same dispatch kernels and the same (zero) host syncs, plus only what its routing needs."""
from __future__ import annotations

from collections import Counter

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from sovereign.bench.moe.block import MoEStack
from sovereign.bench.moe.config import BlockConfig
from sovereign.bench.moe.cost import stack_cost
from sovereign.bench.moe.dispatch import dispatch_grouped
from sovereign.bench.moe.routing import OnDemandConfig, parse_strategy

BLOCK = BlockConfig(name="t", hidden=32, ffn=48, experts=6, layers=1, virtual_experts=2)
# operators that read a device value on the host (a sync on a GPU)
SYNCS = {"_local_scalar_dense", "nonzero", "item", "equal", "is_nonzero"}
# what a strategy whose row count is only an upper bound (top-p, on-demand) may add: a row mask
MASK_OPS = {"arange", "lt", "unsqueeze", "where", "select", "zeros", "scalar_tensor"}


class OpCounter(TorchDispatchMode):
    """Counts the ATen operators that ran (names without overload)."""

    def __init__(self):
        super().__init__()
        self.ops = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def _dispatch_ops(strategy: str, ondemand: OnDemandConfig | None = None, block: BlockConfig = BLOCK) -> Counter:
    """Operators of the grouped dispatch alone (routing excluded) for one strategy's decisions."""
    stack = MoEStack(block, "fp32", "cpu", seed=5)
    if stack.grouped_impl == "padded_bmm":
        pytest.skip("no grouped_mm on this torch: the padded fallback reads one size on the host for every strategy")
    lw = stack.layers[0]
    s = parse_strategy(strategy, BLOCK.experts, 4, ondemand or OnDemandConfig(k_min=1, k_max=4))
    h = stack.inputs(96, seed=2)
    prior = torch.logit(torch.rand(96, generator=torch.Generator().manual_seed(0)).clamp(0.05, 0.95))
    with torch.inference_mode():
        routing = stack.layer_routing(lw, h, s, prior)
        with OpCounter() as c:
            dispatch_grouped(h, routing, lw.w_in, lw.w_out, lw.vscale, block.activation, stack.grouped_impl)
    return c.ops


def _forward_syncs(strategy: str) -> int:
    stack = MoEStack(BlockConfig(name="t", hidden=32, ffn=48, experts=6, layers=2, virtual_experts=2), "fp32", "cpu")
    if stack.grouped_impl == "padded_bmm":
        pytest.skip("no grouped_mm on this torch")
    s = parse_strategy(strategy, 6, 4, OnDemandConfig(k_min=1, k_max=4))
    x = stack.inputs(64)
    with torch.inference_mode(), OpCounter() as c:
        stack.forward(x, s, "grouped", torch.zeros(64))
    return sum(c.ops[n] for n in SYNCS)


@pytest.mark.parametrize("strategy", ["topk1", "topk2", "topk4", "topp0.5", "ondemand", "budget0.6top2", "budget0.3top2"])
def test_no_strategy_syncs_with_the_host_in_a_grouped_forward(strategy):
    assert _forward_syncs(strategy) == 0


def test_budget_runs_exactly_top2s_dispatch():
    # budget routing fixes its real-slot count on the host, never fills a virtual slot: top-2's kernels, no more
    assert _dispatch_ops("budget0.6top2") == _dispatch_ops("topk2")


def test_topp_adds_only_a_row_mask():
    extra = _dispatch_ops("topp0.5") - _dispatch_ops("topk2")
    assert set(extra) <= MASK_OPS, f"top-p carries work its routing does not need: {dict(extra)}"
    assert not _dispatch_ops("topk2") - _dispatch_ops("topp0.5")


def test_virtual_work_only_where_virtual_slots_can_exist():
    no_virtual = _dispatch_ops("ondemand", OnDemandConfig(k_min=1, k_max=4, virtual_cap=0.0))
    assert no_virtual == _dispatch_ops("topp0.5")  # same slots shape and mask, no virtual experts
    with_virtual = _dispatch_ops("ondemand")
    assert with_virtual - no_virtual  # on-demand with virtual experts does add their work
    # vectorised: the same operators whether there are 2 or 4 virtual experts (no loop over them)
    four = _dispatch_ops("ondemand", block=BlockConfig(**{**BLOCK.__dict__, "virtual_experts": 4}))
    assert four == with_virtual


def test_cost_counts_only_the_work_a_strategy_adds():
    stack = MoEStack(BLOCK, "fp32", "cpu", seed=5)
    x = stack.inputs(80)
    costs = {}
    for name in ("topk2", "budget0.6top2", "ondemand"):
        records = []
        stack.forward(x, parse_strategy(name, 6, 4, OnDemandConfig(k_min=1, k_max=4)), "grouped", torch.zeros(80),
                      record=records)
        costs[name] = (stack_cost(BLOCK, records, 4), records[0])
    H, E, V, T = 32, 6, 2, 80
    top2, rec2 = costs["topk2"]
    assert top2["flops_useful"] - 2 * (32 * 96 + 48 * 32) * rec2["real"] == 2 * T * H * E + 2 * H * rec2["gathered"]
    bud, recb = costs["budget0.6top2"]
    # budget: its importance head on top of the router, gathered rows equal to its real slots, no virtual term
    assert recb["gathered"] == recb["real"] == 96
    assert bud["flops_useful"] - 2 * (32 * 96 + 48 * 32) * recb["real"] == 2 * T * H * E + 2 * H * 96 + 2 * T * H
    od, reco = costs["ondemand"]
    assert reco["gathered"] == T * 4  # an upper bound: its row count is data-dependent
    assert od["flops_useful"] - 2 * (32 * 96 + 48 * 32) * reco["real"] == (
        2 * T * H * E + 2 * H * T * 4 + 2 * T * H + 2 * T * V * H + 2 * T * H)
