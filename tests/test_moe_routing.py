"""Routing strategies of the moe_routing suite, on handmade router probabilities."""
from __future__ import annotations

import pytest
import torch

from sovereign.bench.errors import BenchConfigError
from sovereign.bench.moe.routing import (EMPTY, OnDemandConfig, Routing, parse_strategy, route, route_ondemand,
                                         route_topk, route_topp, slots_for_importance)


def _probs(rows):
    p = torch.tensor(rows, dtype=torch.float32)
    return p / p.sum(dim=-1, keepdim=True)


@pytest.mark.parametrize("name,kind,slots", [("topk1", "topk", 1), ("topk4", "topk", 4), ("topp0.5", "topp", 3),
                                              ("topp1.0", "topp", 3), ("ondemand", "ondemand", 4),
                                              ("budget0.6top2", "budget", 2), ("budget0.5top2", "budget", 1)])
def test_parse_strategy(name, kind, slots):
    s = parse_strategy(name, experts=8, topp_max_k=3)
    assert (s.kind, s.max_slots) == (kind, slots)


@pytest.mark.parametrize("name,match", [("top2", "not a strategy"), ("topk9", "1 <= k <= experts"),
                                         ("topp1.5", "not a strategy"), ("topk0", "1 <= k"),
                                         ("budget1.5top2", "share in"), ("budget0.6top9", "share in")])
def test_bad_strategy_names_the_key(name, match):
    with pytest.raises(BenchConfigError, match=f"bench.suites.moe_routing.strategies.*{match}"):
        parse_strategy(name, experts=8)


def test_ondemand_kmax_above_experts_is_a_config_error():
    with pytest.raises(BenchConfigError, match="ondemand.k_max"):
        parse_strategy("ondemand", experts=2, ondemand=OnDemandConfig(k_min=1, k_max=3))
    with pytest.raises(BenchConfigError, match="ondemand.virtual_cap"):
        OnDemandConfig(virtual_cap=1.0)


def test_counts_on_handmade_routing():
    # 3 tokens, 3 slots; experts 0..3 real, 4..5 virtual, -1 empty.
    experts = torch.tensor([[0, 2, EMPTY], [1, 4, EMPTY], [2, 5, 0]])
    r = Routing(experts, torch.ones(3, 3) / 3, num_experts=4)
    assert r.counts() == {"tokens": 3, "real": 5, "virtual": 2, "experts_touched": 3,
                          "real_per_token": 5 / 3, "virtual_per_token": 2 / 3, "virtual_share": 2 / 7}


def test_topk_picks_the_most_probable_and_renormalises():
    r = route_topk(_probs([[0.1, 0.6, 0.3, 0.0], [0.4, 0.1, 0.2, 0.3]]), 2)
    assert r.experts.tolist() == [[1, 2], [0, 3]]
    assert torch.allclose(r.weights, torch.tensor([[2 / 3, 1 / 3], [4 / 7, 3 / 7]]))
    assert r.dense and r.counts()["real"] == 4


def test_topp_adds_experts_until_p_and_respects_its_cap():
    probs = _probs([[0.7, 0.2, 0.05, 0.05],     # 0.7 >= 0.5: one expert
                    [0.3, 0.3, 0.2, 0.2],       # 0.3 < 0.5, 0.6 >= 0.5: two
                    [0.25, 0.25, 0.25, 0.25]])  # would need two; p=0.9 needs four, capped at three
    r = route_topp(probs, 0.5, max_k=3)
    assert (r.experts != EMPTY).sum(dim=1).tolist() == [1, 2, 2]
    r = route_topp(probs, 0.9, max_k=3)
    assert (r.experts != EMPTY).sum(dim=1).tolist() == [2, 3, 3]  # 0.7 + 0.2 reaches 0.9; the rest hit the cap, never four
    assert torch.allclose(r.weights.sum(dim=1), torch.ones(3))
    assert torch.all(r.weights[r.experts == EMPTY] == 0)


def test_topp_cap_holds_on_random_probabilities():
    probs = torch.softmax(torch.randn(500, 8) * 0.3, dim=-1)  # flat: top-p wants many experts
    r = route_topp(probs, 0.9, max_k=4)
    n = (r.experts != EMPTY).sum(dim=1)
    assert n.max().item() == 4 and n.min().item() >= 1


def test_slots_follow_importance_within_range():
    imp = torch.tensor([0.0, 0.2, 0.34, 0.5, 0.67, 0.99, 1.0])
    assert slots_for_importance(imp, 1, 3).tolist() == [1, 1, 2, 2, 3, 3, 3]


def test_ondemand_respects_slot_range_and_virtual_cap():
    torch.manual_seed(0)
    T = 400
    probs = torch.softmax(torch.randn(T, 8) * 2.0, dim=-1)
    imp = torch.rand(T)
    cfg = OnDemandConfig(k_min=1, k_max=4, virtual_cap=0.2, virtual_threshold=0.5)
    r = route_ondemand(probs, imp, cfg, virtual_experts=2)
    slots = (r.experts != EMPTY).sum(dim=1)
    assert slots.tolist() == slots_for_importance(imp, 1, 4).tolist()
    assert slots.min() >= 1 and slots.max() <= 4
    c = r.counts()
    assert 0 < c["virtual"] <= int(0.2 * slots.sum())
    assert r.real_mask()[:, 0].all()  # the first slot is always a real expert
    assert int(r.experts.max()) < 8 + 2


def test_ondemand_cap_keeps_the_weakest_slots_virtual():
    # 10 tokens x 3 slots, every later slot is a candidate (p2, p3 < 0.5 p1); budget = floor(30 * 0.2) = 6.
    rows = [[0.8, 0.1 + 0.001 * i, 0.1 - 0.001 * i, 0.0] for i in range(10)]
    probs = _probs(rows)
    cfg = OnDemandConfig(k_min=1, k_max=3, virtual_cap=0.2, virtual_threshold=0.5)
    r = route_ondemand(probs, torch.ones(10), cfg, virtual_experts=2)
    virtual = r.virtual_mask()
    assert int(virtual.sum()) == 6
    chosen = sorted(float(probs[t].sort(descending=True).values[s]) for t, s in virtual.nonzero().tolist())
    weakest = sorted(float(v) for v in probs[:, 1:3].flatten())[:6]
    assert chosen == pytest.approx(weakest)
    assert int(r.real_mask().sum()) == 24


def test_ondemand_without_virtual_experts_uses_only_real_ones():
    probs = _probs([[0.8, 0.1, 0.1, 0.0]] * 5)
    r = route_ondemand(probs, torch.ones(5), OnDemandConfig(k_min=1, k_max=3), virtual_experts=0)
    assert r.counts()["virtual"] == 0 and r.counts()["real"] == 15


def test_route_needs_importance_for_ondemand():
    s = parse_strategy("ondemand", experts=4, ondemand=OnDemandConfig(k_max=2))
    with pytest.raises(ValueError, match="importance"):
        route(s, torch.randn(3, 4))


@pytest.mark.parametrize("share,ref,real", [(0.6, 2, 1.2), (0.5, 2, 1.0), (0.9, 4, 3.6), (0.2, 2, 0.4)])
def test_claimed_budget_spends_exactly_its_share_and_the_important_tokens_get_more(share, ref, real):
    torch.manual_seed(0)
    logits, importance = torch.randn(500, 8), torch.rand(500)
    r = route(parse_strategy(f"budget{share}top{ref}", experts=8), logits, importance)
    assert r.counts()["real_per_token"] == pytest.approx(real) and r.counts()["virtual"] == 0
    per_token = r.real_mask().sum(dim=1)
    assert per_token.max() - per_token.min() <= 1
    more = importance[per_token == per_token.max()].min() if per_token.max() > per_token.min() else None
    if more is not None:
        assert more >= importance[per_token == per_token.min()].max()  # the extra slot goes to important tokens
    # each token's slots hold its most probable experts
    top = torch.softmax(logits, dim=-1).topk(int(per_token.max()), dim=-1).indices
    filled = r.experts >= 0
    assert torch.equal(r.experts[filled], top[:, : r.experts.shape[1]][filled])
