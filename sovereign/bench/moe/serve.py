"""Serve VQAv2- and Visual7W-shaped requests in batches on the MoE-LLaVA-shaped model and time each phase.

A request is one image (the vision tower's visual tokens), a question whose length follows the
block suite's length models, and a short forced answer: VQAv2 answers are one to three words,
Visual7W's the chosen multiple-choice option (about `CHOICE_WORDS` words), plus an end token.
These answer lengths are shape assumptions, not statistics read off the datasets. A batch
runs the tower, one prefill over [visual | question] (questions right-aligned, the gap masked
out) and decode steps until its longest answer is done; a request's end-to-end latency ends
with its own last token. Every phase and every MoE layer call is bracketed by timestamps
(CUDA events on a GPU, perf_counter on a CPU), so the MoE layers' share of a phase is a ratio
of measured times, never an assumption.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..tracker import TAIL_MIN_SAMPLES, _percentile
from .config import WorkloadConfig
from .model import MoELlava, elapsed_ms, prior_logits
from .routing import Strategy
from .workloads import CHOICE_WORDS, question_lengths


@dataclass
class Requests:
    """One batch of requests: question and answer token counts, and every token's prior importance."""

    question_tokens: np.ndarray  # [B]
    answer_tokens: np.ndarray  # [B], at least 1 (the end token)
    prefill_importance: np.ndarray  # [B, visual + max question]
    decode_importance: np.ndarray  # [steps, B]


def answer_lengths(workload: str, n: int, cfg: WorkloadConfig, rng: np.random.Generator) -> np.ndarray:
    """Forced answer lengths in tokens (words x tokens per word, plus an end token)."""
    if workload == "vqav2":
        words = 1 + rng.binomial(2, 0.3, size=n)  # one to three words
    else:  # the chosen option of a multiple-choice question
        words = 1 + rng.poisson(max(CHOICE_WORDS - 1, 0.1), size=n)
    return np.maximum(1, np.rint(words * cfg.tokens_per_word)).astype(int) + 1


def make_requests(workload: str, n: int, visual: int, cfg: WorkloadConfig, seed: int) -> Requests:
    """A seeded batch of `n` requests with `visual` image tokens each."""
    rng = np.random.default_rng([seed, n, 0 if workload == "vqav2" else 1, 7])
    q, _ = question_lengths(workload, n, cfg, rng)
    a = answer_lengths(workload, n, cfg, rng)
    width = visual + int(q.max())
    imp = np.concatenate([rng.beta(*cfg.visual_importance, size=(n, visual)),
                          rng.beta(*cfg.text_importance, size=(n, width - visual))], axis=1)
    dec = rng.beta(*cfg.text_importance, size=(max(int(a.max()) - 1, 0), n))
    return Requests(q, a, imp, dec)


@dataclass
class BatchTiming:
    """Measured times of one served batch (ms) and per-request latencies."""

    vision_ms: float
    prefill_ms: float
    step_ms: list
    moe_prefill_ms: float
    moe_decode_ms: float
    ttft_ms: list
    e2e_ms: list
    tpot_ms: list


def serve_batch(model: MoELlava, strategy: Strategy, reqs: Requests, seed: int, record: list | None = None) -> BatchTiming:
    """Run one batch: tower, prefill, decode steps; time each and every MoE layer call."""
    ctx, dev = model.ctx, model.device
    B, visual = len(reqs.question_tokens), model.shape.visual_tokens
    width = reqs.prefill_importance.shape[1]
    g = torch.Generator(device="cpu").manual_seed(seed)
    ids = torch.randint(0, model.lm.config.vocab_size, (B, width - visual), generator=g).to(dev)
    mask = torch.ones(B, width, dtype=torch.long)
    for i, q in enumerate(reqs.question_tokens):
        mask[i, visual:width - int(q)] = 0  # question right-aligned; the gap before it is masked out
    mask = mask.to(dev)
    prior = prior_logits(torch.from_numpy(reqs.prefill_importance)).to(dev)
    dec_prior = prior_logits(torch.from_numpy(reqs.decode_importance)).to(dev)
    pixels = model.images(B, seed)
    ctx.strategy, ctx.record = strategy, record
    prefill_events, decode_events = [], []
    ctx.events = prefill_events
    t0 = ctx.mark()
    vis = model.encode_images(pixels)
    t1 = ctx.mark()
    nxt, cache = model.forward_lm(torch.cat([vis, model.embed(ids)], dim=1), mask, None, prior)
    t2 = ctx.mark()
    ctx.events = decode_events
    marks = [t2]
    for step in range(dec_prior.shape[0]):
        mask = torch.cat([mask, mask.new_ones(B, 1)], dim=1)
        nxt, cache = model.forward_lm(model.embed(nxt[:, None]), mask, cache, dec_prior[step])
        marks.append(ctx.mark())
    ctx.events, ctx.record = None, None
    if dev.type == "cuda":
        torch.cuda.synchronize()
    vision, prefill = elapsed_ms(t0, t1), elapsed_ms(t1, t2)
    steps = [elapsed_ms(a, b) for a, b in zip(marks, marks[1:])]
    ttft = vision + prefill
    done = np.concatenate([[0.0], np.cumsum(steps)])
    e2e = [ttft + float(done[int(a) - 1]) for a in reqs.answer_tokens]
    tpot = [(e - ttft) / (int(a) - 1) for e, a in zip(e2e, reqs.answer_tokens) if a > 1]
    return BatchTiming(vision, prefill, steps, sum(elapsed_ms(a, b) for a, b in prefill_events),
                       sum(elapsed_ms(a, b) for a, b in decode_events), [ttft] * B, e2e, tpot)


def _pcts(name: str, values: list, independent: int | None = None) -> dict:
    """p50/p90/p99 of `values`; p90 needs 10 and p99 100 independent timings (requests served in one batch share
    theirs, so `independent` is the number of timed batches), None below with the reason in a note."""
    s = sorted(values)
    n = len(s) if independent is None else min(independent, len(s))
    need = TAIL_MIN_SAMPLES
    out = {f"{name}_p50": _percentile(s, 50) if s else None,
           f"{name}_p90": _percentile(s, 90) if n >= need[90] else None,
           f"{name}_p99": _percentile(s, 99) if n >= need[99] else None}
    if n < need[99]:
        out[f"{name}_note"] = (f"{len(s)} values from {n} independent timings: p90 needs {need[90]}, "
                               f"p99 needs {need[99]}")
    return out


def activations(records: list[dict], moe_layers: int) -> dict:
    """Real and virtual expert activations per token and MoE layer, split by phase (first call per layer = prefill)."""
    pre, dec = records[:moe_layers], records[moe_layers:]

    def per_token(recs, key):
        tokens = sum(r["tokens"] for r in recs)
        return sum(r[key] for r in recs) / tokens if tokens else None

    return {"real_act_per_token_prefill": per_token(pre, "real"), "real_act_per_token_decode": per_token(dec, "real"),
            "virtual_act_per_token_prefill": per_token(pre, "virtual"),
            "virtual_act_per_token_decode": per_token(dec, "virtual"),
            "real_act_per_token": per_token(records, "real"), "virtual_act_per_token": per_token(records, "virtual")}


def serve_point(model: MoELlava, strategy: Strategy, workload: str, batch: int, cfg: WorkloadConfig, seed: int,
                min_requests: int) -> tuple[list, dict]:
    """One (strategy, workload, batch) point: a recorded warm-up batch, then timed batches until `min_requests`.

    Returns (per-request e2e ms, the row's measured columns).
    """
    visual = model.shape.visual_tokens
    warm = make_requests(workload, batch, visual, cfg, seed)
    records: list = []
    serve_batch(model, strategy, warm, seed, record=records)  # untimed: compiles, allocates, counts activations
    rounds = max(2, math.ceil(min_requests / batch))
    # the requests are drawn before the clock starts: timed_wall_s is serving time only
    batches = [make_requests(workload, batch, visual, cfg, seed + 1 + r) for r in range(rounds)]
    timings, wall = [], time.perf_counter()
    for r, reqs in enumerate(batches):
        timings.append(serve_batch(model, strategy, reqs, seed + r))
    wall = time.perf_counter() - wall
    e2e = [v for t in timings for v in t.e2e_ms]
    prefill = sum(t.prefill_ms for t in timings)
    decode = sum(sum(t.step_ms) for t in timings)
    ttft = sum(t.vision_ms + t.prefill_ms for t in timings)
    n_steps = sum(len(t.step_ms) for t in timings)
    moe_pre, moe_dec = sum(t.moe_prefill_ms for t in timings), sum(t.moe_decode_ms for t in timings)
    busy = sum(t.vision_ms + t.prefill_ms + sum(t.step_ms) for t in timings)
    cols = {**_pcts("e2e_ms", e2e, rounds), **_pcts("ttft_ms", [t.vision_ms + t.prefill_ms for t in timings]),
            **_pcts("tpot_ms", [v for t in timings for v in t.tpot_ms], rounds),
            "vision_ms_mean": sum(t.vision_ms for t in timings) / rounds, "prefill_ms_mean": prefill / rounds,
            "decode_step_ms_mean": decode / n_steps if n_steps else None,
            "moe_prefill_ms_mean": moe_pre / rounds, "moe_decode_ms_per_step": moe_dec / n_steps if n_steps else None,
            "moe_share_prefill": moe_pre / prefill if prefill else None,
            "moe_share_ttft": moe_pre / ttft if ttft else None,
            "moe_share_decode": moe_dec / decode if decode else None,
            "moe_share_request": (moe_pre + moe_dec) / busy if busy else None,
            "samples_per_s": len(e2e) / (busy / 1e3), "requests": len(e2e), "rounds": rounds,
            "timed_wall_s": wall, "question_tokens_mean": float(np.mean(warm.question_tokens)),
            "answer_tokens_mean": float(np.mean(warm.answer_tokens)),
            **activations(records, len(model.moe))}
    cols["throughput_ips"] = cols["samples_per_s"]
    return e2e, cols


def run_model_points(job, grid, dev: str, dtype: str, env: dict, mismatch: str, progress: bool = False) -> list[dict]:
    """The model-level rows of one job (device x workload): every strategy x batch size of `grid.model`."""
    import logging

    from ..memory import is_oom
    from ..result import BenchResult
    from ..tracker import LatencyStats
    from .model import ModelShape, param_count
    from .routing import parse_strategy

    log = logging.getLogger(__name__)
    mg, suite = grid.model, job.suite
    shape = ModelShape(name=mg.shape, experts=mg.experts, virtual_experts=grid.block.virtual_experts,
                       router_scale=grid.block.router_scale)
    strategies = mg.strategies or grid.strategies
    base = {"suite": "moe_routing", "device": job.device.name, "model": shape.name, "precision": dtype, "env": env}
    dec = shape.decoder()
    common = {"level": "model", "phase": "request", "workload": job.workload, "dispatch": "grouped",
              "hidden": dec["hidden_size"], "ffn": dec["intermediate_size"], "experts": shape.experts,
              "layers": dec["num_hidden_layers"], "moe_layers": len(shape.moe_layers()),
              "visual_tokens": shape.visual_tokens, "activation": "swiglu", "seed": suite.seed,
              "timer": "cuda_events" if dev == "cuda" else "perf_counter", "device_kind": job.device.kind,
              "architecture": "MoE-LLaVA (arXiv 2401.15947): CLIP ViT-L/14-336 tower, mlp2x_gelu projector, "
                              "StableLM decoder, MoE every other layer", "weights": "random (seeded)"}
    rows = []
    try:
        model = MoELlava(shape, dtype, dev, suite.seed)
    except Exception as exc:  # OOM or a transformers without these classes: one row per point says so
        status = "oom" if is_oom(exc) else "error"
        return [BenchResult(**base, backend=s, batch_size=b, status=status, reason=f"building the model: {type(exc).__name__}: {str(exc)[:300]}",
                            extras=common).to_row() for s in strategies for b in mg.batch_sizes]
    common.update(param_count(model), grouped_impl=model.ctx.impl)
    cfg = WorkloadConfig(**{**suite.workload.__dict__, "visual_tokens": shape.visual_tokens})
    for b in mg.batch_sizes:
        # every strategy serves one untimed batch at this size before any is timed: the first strategy at a new
        # size would otherwise absorb first-use costs (allocator growth, kernel selection, compiles) on its own
        # (seen on the H200 on 2026-12-04: top-1, served first, had 514 ms prefills against top-2's 31 ms at b=4)
        with torch.inference_mode():
            for name in strategies:
                try:
                    warm = make_requests(job.workload, b, shape.visual_tokens, cfg, suite.seed + 1000)
                    serve_batch(model, parse_strategy(name, shape.experts, suite.topp_max_k, suite.ondemand), warm, 0)
                except Exception:  # the timed point below meets the same failure and reports it
                    break
        for name in strategies:
            strategy = parse_strategy(name, shape.experts, suite.topp_max_k, suite.ondemand)
            extras = {**common, "strategy_kind": strategy.kind, "max_slots": strategy.max_slots}
            try:
                if dev == "cuda":
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats()
                with torch.inference_mode():
                    e2e, cols = serve_point(model, strategy, job.workload, b, cfg, suite.seed, mg.requests)
                stats = LatencyStats.from_samples(e2e, cols["timed_wall_s"], protocol="requests", stop_reason="fixed",
                                                  stable=False)  # one pass of timed batches, no agreeing repeats
                peak = torch.cuda.max_memory_allocated() / 2**20 if dev == "cuda" else None
                status, reason = ("mismatch", mismatch) if mismatch else ("ok", "")
                rows.append(BenchResult(**base, backend=name, batch_size=b, status=status, reason=reason, stats=stats,
                                        peak_mem_mb=peak, extras={**extras, **cols}).to_row())
                log.info("model %s %s b=%d: e2e p50 %.2f ms, moe share prefill %.2f decode %s", job.workload, name, b,
                         cols["e2e_ms_p50"], cols["moe_share_prefill"], cols["moe_share_decode"])
            except Exception as exc:
                status = "oom" if is_oom(exc) else "error"
                if status == "error":
                    log.exception("model point %s b=%d failed", name, b)
                if dev == "cuda":
                    torch.cuda.empty_cache()
                rows.append(BenchResult(**base, backend=name, batch_size=b, status=status,
                                        reason=f"{type(exc).__name__}: {str(exc)[:500]}", extras=extras).to_row())
    from .dispatch import FUSED_ERRORS

    for row in rows:  # which element-wise kernels the grouped dispatch really ran
        row["elementwise"] = ("eager" if dev != "cuda" else
                              f"eager (compile failed: {FUSED_ERRORS})" if FUSED_ERRORS else "compiled (torch.compile)")
    return rows
