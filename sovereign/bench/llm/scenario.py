"""The generation scenario: time requests the way serving benchmarks do, and check outputs against hf_eager.

Per request (one batch of prompts, output length forced): TTFT = start to the first token (the
prefill inside the request), ITL = gaps between consecutive tokens (never the TTFT), TPOT =
(e2e - TTFT) / (output_len - 1), e2e = start to the last token. Caches are allocated and
graphs compiled/captured in `prepare` and the warm-up requests, before any timed request.
Percentiles come only from enough samples: p90 from 10, p99 from 100, else NULL with a note.
"""
from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass, field

from ..tracker import TAIL_MIN_SAMPLES, tail_percentile

# Largest |logit difference| between a backend and hf_eager that counts as rounding, as a share of the
# reference logits' standard deviation, by precision. bf16 keeps 8 bits of mantissa, and a random
# 32-layer network carries rounding forward: on the H200, Llama-2-7B-shaped bf16 logits of the
# compiled path differed from eager by up to 0.35 (0.27 sd) while every greedy token was equal.
LOGIT_REL_TOL = {"fp32": 1e-3, "fp16": 0.1, "bf16": 0.4}


def percentile(values: list[float], q: int) -> float | None:
    """The harness's linear-interpolated q-th percentile, or None with too few samples (tracker.TAIL_MIN_SAMPLES)."""
    return tail_percentile(sorted(values), q)[0] if values else None


def summarise(name: str, values: list[float]) -> dict:
    """{name_p50, name_p90, name_p99} plus a note naming any percentile left NULL for want of samples."""
    out = {f"{name}_p{q}": percentile(values, q) for q in (50, 90, 99)}
    short = [f"p{q} needs {TAIL_MIN_SAMPLES[q]} samples" for q in (90, 99) if out[f"{name}_p{q}"] is None]
    out[f"{name}_note"] = f"{len(values)} samples; " + ", ".join(short) if short else ""
    return out


@dataclass
class RequestTimes:
    """Marks of one request: milliseconds from its start to each generated token."""

    marks_ms: list

    @property
    def ttft_ms(self) -> float:
        return self.marks_ms[0]

    @property
    def e2e_ms(self) -> float:
        return self.marks_ms[-1]

    @property
    def tpot_ms(self) -> float:
        return (self.e2e_ms - self.ttft_ms) / (len(self.marks_ms) - 1)

    @property
    def itl_ms(self) -> list[float]:
        return [b - a for a, b in zip(self.marks_ms, self.marks_ms[1:])]


@dataclass
class PointTimes:
    """All timed requests of a point, the prefill-alone samples and the warm-up's first call."""

    requests: list = field(default_factory=list)
    prefill_ms: list = field(default_factory=list)
    first_call_s: float = 0.0
    prepare_s: float = 0.0
    timed_wall_s: float = 0.0

    def metrics(self, batch: int, input_len: int, output_len: int) -> dict:
        """The row's timing columns (ms, tokens/s) from the samples."""
        e2e = [r.e2e_ms for r in self.requests]
        out = {**summarise("ttft_ms", [r.ttft_ms for r in self.requests]),
               **summarise("tpot_ms", [r.tpot_ms for r in self.requests]),
               **summarise("itl_ms", [g for r in self.requests for g in r.itl_ms]),
               **summarise("e2e_ms", e2e), **summarise("prefill_ms", self.prefill_ms)}
        e2e50, tpot50 = out["e2e_ms_p50"], out["tpot_ms_p50"]
        out.update({
            "latency_ms_p50": e2e50, "latency_ms_p90": out["e2e_ms_p90"], "latency_ms_p99": out["e2e_ms_p99"],
            "output_tokens_per_s": batch * output_len / (e2e50 / 1e3),
            "total_tokens_per_s": batch * (input_len + output_len) / (e2e50 / 1e3),
            "tokens_per_s_per_seq": 1000.0 / tpot50 if tpot50 else None,
            "throughput_ips": batch / (e2e50 / 1e3),
            "e2e_ms_mean": statistics.fmean(e2e), "requests_timed": len(self.requests),
            "first_call_s": self.first_call_s, "prepare_s": self.prepare_s, "timed_wall_s": self.timed_wall_s})
        return out


def time_point(backend, ids, output_len: int, warmup: int, iterations: int, prefill_iterations: int,
               clock_factory, window=None) -> PointTimes:
    """Prepare, warm up (the first call compiles/captures), time `iterations` requests, then prefill alone."""
    import contextlib

    times = PointTimes()
    batch, input_len = ids.shape
    t = time.perf_counter()
    backend.prepare(batch, input_len, output_len)
    times.prepare_s = time.perf_counter() - t
    clock = clock_factory(output_len)
    for i in range(warmup):
        t = time.perf_counter()
        backend.generate(ids, output_len, clock)
        clock.marks_ms()  # waits for the GPU
        if i == 0:
            times.first_call_s = time.perf_counter() - t
    seg = window.segment() if window is not None else contextlib.nullcontext()
    t = time.perf_counter()
    with seg:
        for _ in range(iterations):
            backend.generate(ids, output_len, clock)
            times.requests.append(RequestTimes(clock.marks_ms()))
    times.timed_wall_s = time.perf_counter() - t
    pclock = clock_factory(1)
    backend.prefill(ids)  # one untimed prefill at this shape first
    for _ in range(prefill_iterations):
        pclock.start()
        backend.prefill(ids)
        pclock.tick()
        times.prefill_ms.append(pclock.marks_ms()[0])
    return times


def compare_outputs(tokens, logits, ref_tokens, ref_logits, precision: str) -> tuple[bool, str]:
    """Whether a backend's greedy outputs agree with hf_eager's on the same ids, and how (a sentence).

    Equal tokens agree. At the first step where tokens differ both runs still share their prefix,
    so their logits there are comparable: the outputs agree when the logits differ by no more than
    the precision's tolerance and the backend's token is, under hf_eager's own logits, within that
    measured difference of the top one (a near-tie that rounding can flip). Anything else disagrees.
    """
    rows, steps = min(tokens.shape[0], ref_tokens.shape[0]), min(tokens.shape[1], ref_tokens.shape[1])
    a, b = tokens[:rows, :steps].cpu(), ref_tokens[:rows, :steps].cpu()
    same = (a == b).all(dim=0)
    diverge = int((~same).nonzero()[0]) if not bool(same.all()) else None
    upto = steps if diverge is None else diverge + 1
    n_cmp = min(upto, len(logits), len(ref_logits))
    diffs = [float((logits[j][:rows].cpu().float() - ref_logits[j][:rows].cpu().float()).abs().max()) for j in range(n_cmp)]
    sd = float(ref_logits[0][:rows].float().std()) if ref_logits else 0.0
    tol = LOGIT_REL_TOL[precision] * sd
    dtxt = f"; max |logit diff| {max(diffs):.3g} (tolerance {tol:.3g} = {LOGIT_REL_TOL[precision]:g} sd, {precision})" if diffs else ""
    if diverge is None:
        ok = not diffs or max(diffs) <= tol
        verb = "equal to" if ok else "equal to, but logits beyond the tolerance of,"
        return ok, f"greedy tokens {verb} hf_eager on {rows}x{steps} ids{dtxt}"
    if diverge >= min(len(logits), len(ref_logits)):
        return False, f"greedy tokens differ from hf_eager at step {diverge} of {steps} (no logits kept there to judge)"
    ref = ref_logits[diverge][:rows].cpu().float()
    noise = diffs[diverge]
    bad_rows = (a[:, diverge] != b[:, diverge]).nonzero().flatten().tolist()
    behind = max(float(ref[r].max() - ref[r, int(a[r, diverge])]) for r in bad_rows)
    if max(diffs) <= tol and behind <= noise:
        return True, (f"greedy tokens equal to hf_eager for {diverge} of {steps} steps, then a near-tie: the backend's "
                      f"token is {behind:.3g} below hf_eager's top logit, within the {noise:.3g} logit difference{dtxt}")
    return False, (f"greedy tokens differ from hf_eager at step {diverge} of {steps}: the backend's token is {behind:.3g} "
                   f"below hf_eager's top logit, logit difference there {noise:.3g}{dtxt}")


def expert_load(model, ids, top_k: int, n_experts: int) -> str:
    """JSON of each expert's share of the prompt tokens' top-k slots (averaged over layers) from one eager forward."""
    import torch

    counts = torch.zeros(n_experts, dtype=torch.float64)
    hooks = []

    def hook(_module, _inputs, output):
        idx = output[2] if isinstance(output, tuple) and len(output) == 3 else \
            torch.topk(output[0] if isinstance(output, tuple) else output, top_k, dim=-1).indices
        counts.add_(torch.bincount(idx.reshape(-1).cpu(), minlength=n_experts).double())

    for name, module in model.named_modules():
        if name.endswith(".gate") and type(module).__name__.lower().endswith("router"):
            hooks.append(module.register_forward_hook(hook))
    try:
        with torch.inference_mode():
            model(input_ids=ids, use_cache=False, logits_to_keep=1)
    finally:
        for h in hooks:
            h.remove()
    total = float(counts.sum())
    return json.dumps([round(float(c) / total, 4) for c in counts] if total else [])
