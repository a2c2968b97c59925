"""The MoE-LLaVA-shaped model: paper shapes, the block suite's routing in every MoE layer, timed MoE shares."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from sovereign.bench.moe import model as model_mod
from sovereign.bench.moe.block import MoEStack
from sovereign.bench.moe.config import BlockConfig, ModelGrid, WorkloadConfig
from sovereign.bench.moe.model import MoELlava, ModelShape, prior_logits
from sovereign.bench.moe.routing import parse_strategy
from sovereign.bench.moe.serve import make_requests, serve_batch, serve_point
from sovereign.bench.errors import BenchConfigError

STRATEGIES = ["topk1", "topk2", "topp0.5", "ondemand", "budget0.6top2"]


@pytest.fixture(scope="module")
def small():
    torch.set_num_threads(1)
    return MoELlava(ModelShape(), "fp32", "cpu", seed=0)


def test_paper_shape_follows_moe_llava_stablelm():
    shape = ModelShape(name="moellava-stablelm-1.6b-4e")
    assert shape.visual_tokens == 576  # ViT-L/14 at 336 px: 24 x 24 patches
    assert shape.moe_layers() == list(range(0, 24, 2))  # sparse mode: every other layer from the first
    d = shape.decoder()
    assert (d["hidden_size"], d["intermediate_size"], d["num_hidden_layers"]) == (2048, 5632, 24)
    assert shape.block().experts == 4


def test_small_model_has_every_structural_feature(small):
    from transformers import CLIPVisionModel, StableLmForCausalLM

    assert isinstance(small.vision, CLIPVisionModel) and isinstance(small.lm, StableLmForCausalLM)
    routed = [i for i, layer in enumerate(small.lm.model.layers) if isinstance(layer.mlp, model_mod.RoutedMoE)]
    assert routed == [0, 2]  # MoE in every other layer; the others keep their dense FFN
    with torch.inference_mode():
        vis = small.encode_images(small.images(2))
    assert vis.shape == (2, small.shape.visual_tokens, small.hidden)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_model_layers_route_like_the_block_suite(small, strategy, monkeypatch):
    # capture what each MoE layer saw and decided inside the model, then route the same tokens at block level
    s = parse_strategy(strategy, 4)
    seen = []
    orig = model_mod.moe_ffn

    def spy(lw, h, strat, prior, dispatch, impl, block, record=None):
        rec = []
        y = orig(lw, h, strat, prior, dispatch, impl, block, rec)
        seen.append((lw, h.clone(), rec[0]["routing"]))
        return y

    monkeypatch.setattr(model_mod, "moe_ffn", spy)
    reqs = make_requests("vqav2", 3, small.shape.visual_tokens, WorkloadConfig(visual_tokens=16), seed=4)
    with torch.inference_mode():
        serve_batch(small, s, reqs, seed=4)
    stack = MoEStack(BlockConfig(name="b", hidden=64, ffn=128, experts=4, layers=2, virtual_experts=2), "fp32", "cpu")
    # the prior the block suite would use for these tokens, from the requests themselves (not the model's context)
    prefill_prior = prior_logits(torch.from_numpy(reqs.prefill_importance)).reshape(-1)
    n_moe = len(small.moe)
    assert len(seen) == n_moe * (1 + reqs.decode_importance.shape[0])
    for i, (lw, h, routing) in enumerate(seen):
        prior = prefill_prior if i < n_moe else prior_logits(torch.from_numpy(reqs.decode_importance[i // n_moe - 1]))
        block = stack.layer_routing(lw, h, s, prior)
        assert torch.equal(block.experts, routing.experts)
        assert torch.allclose(block.weights, routing.weights)


def test_moe_share_comes_from_timed_events(small, monkeypatch):
    s = parse_strategy("topk2", 4)
    cfg = WorkloadConfig(visual_tokens=16)
    with torch.inference_mode():
        _, plain = serve_point(small, s, "vqav2", 2, cfg, 0, 2)
    orig = model_mod.moe_ffn

    def slow(*args, **kw):  # 50 ms more inside each MoE layer call: the measured share must see it
        time.sleep(0.05)
        return orig(*args, **kw)

    monkeypatch.setattr(model_mod, "moe_ffn", slow)
    with torch.inference_mode():
        _, slowed = serve_point(small, s, "vqav2", 2, cfg, 0, 2)
    assert 0 < plain["moe_share_prefill"] < 0.9
    assert slowed["moe_share_prefill"] > 0.8 and slowed["moe_share_decode"] > 0.8
    assert slowed["moe_prefill_ms_mean"] >= 0.05 * 1e3 * len(small.moe)
    assert slowed["e2e_ms_p50"] > plain["e2e_ms_p50"]


def test_request_latencies_end_with_each_requests_last_token(small):
    s = parse_strategy("topk2", 4)
    reqs = make_requests("visual7w", 4, small.shape.visual_tokens, WorkloadConfig(visual_tokens=16), seed=1)
    with torch.inference_mode():
        t = serve_batch(small, s, reqs, seed=1)
    assert len(t.step_ms) == int(reqs.answer_tokens.max()) - 1
    order = np.argsort(reqs.answer_tokens)
    e2e = np.array(t.e2e_ms)[order]
    assert (np.diff(e2e) >= 0).all() and e2e[0] >= t.ttft_ms[0]  # longer answers finish later
    assert t.ttft_ms[0] == pytest.approx(t.vision_ms + t.prefill_ms)


def test_model_grid_rejects_an_unknown_shape():
    with pytest.raises(BenchConfigError, match="cpu.model.shape"):
        ModelGrid(shape="llava-70b", key="bench.suites.moe_routing.cpu.model")


def test_request_percentiles_count_independent_timings_not_requests():
    """64 requests served in 2 batches are 2 timings: no p90 or p99 from them, and the note says why."""
    from sovereign.bench.moe.serve import _pcts

    values = [float(v) for v in range(64)]
    two = _pcts("e2e_ms", values, independent=2)
    assert two["e2e_ms_p50"] is not None and two["e2e_ms_p90"] is None and two["e2e_ms_p99"] is None
    assert "2 independent timings" in two["e2e_ms_note"]
    many = _pcts("e2e_ms", values * 2, independent=128)
    assert many["e2e_ms_p90"] is not None and many["e2e_ms_p99"] is not None and "e2e_ms_note" not in many
