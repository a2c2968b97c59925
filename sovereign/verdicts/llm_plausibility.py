"""Physical plausibility of LLM-serving figures: memory capacity, decode bandwidth and prefill compute bounds.

Decode: every step reads the weights once plus the KV cache of every sequence, so tokens/s per
sequence <= bandwidth / (weight bytes + KV bytes). Prefill: at least 2 x parameters x tokens FLOP,
so TTFT >= that over the peak rate at the precision. Capacity: weights + KV cache must fit the
device's memory. Device facts come from config/devices.yaml; model facts from config/models.yaml.
Every reason carries the arithmetic; any figure beyond 100% of a bound is implausible.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path

import yaml

from ..bench.llm.registry import ModelSpec
from .hardware import DEFAULT_DEVICES_PATH, Hardware, norm_precision
from .llm_reading import LLMReading, read_llm_claim

# bytes per weight at a precision; AWQ and GPTQ are 4-bit weight-only schemes as usually published
WEIGHT_BYTES = {"fp32": 4.0, "tf32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0, "w8a8": 1.0,
                "fp6": 0.75, "int4": 0.5, "fp4": 0.5, "awq": 0.5, "gptq": 0.5, "int3": 0.375, "int2": 0.25}
# the peak rate prefill runs at: weight-only schemes compute in fp16
COMPUTE_PRECISION = {"awq": "fp16", "gptq": "fp16", "int4": "fp16", "int3": "fp16", "int2": "fp16", "fp4": "fp16",
                     "fp6": "fp16", "w8a8": "int8"}
OFFLOAD = re.compile(r"\b(?:offload\w*|cpu memory|host memory|dram|disk|ssd|nvme|zero-inference|flexgen)\b", re.I)
MULTI_GPU = re.compile(r"\b(?:\d+|two|four|eight)\s*(?:x\s*)?(?:gpus|nodes|a100s|h100s)\b|\b\d+\s*x\s*[a-z]\d|"
                       r"tensor[\s-]parallel\w*|pipeline[\s-]parallel\w*", re.I)


def _out(plausibility: str, utilization=None, reason: str = "") -> dict:
    return {"plausibility": plausibility, "utilization": utilization, "reason": reason}


@lru_cache(maxsize=8)
def memory_capacity(path: str | None = None) -> dict[str, float]:
    """Device key -> memory capacity in GB (`memory_gb` of config/devices.yaml)."""
    raw = yaml.safe_load(Path(path or DEFAULT_DEVICES_PATH).read_text(encoding="utf-8")) or {}
    return {str(k): float(v["memory_gb"]) for k, v in (raw.get("devices") or {}).items()
            if isinstance(v, dict) and isinstance(v.get("memory_gb"), (int, float))}


def weight_gb(spec: ModelSpec, precision: str, active: bool = False, batch: int = 1) -> float:
    """Weight bytes in GB at `precision`; when `active`, those one decode step of `batch` sequences reads
    (an MoE model: the experts batch x top_k picks can reach, all of them once that reaches n_experts)."""
    if not active or not spec.is_moe:
        return spec.params * WEIGHT_BYTES[precision] / 1e9
    reached = min(spec.n_experts, batch * spec.top_k)
    params = spec.params - spec.layers * (spec.n_experts - reached) * 3 * spec.hidden * spec.ffn
    return params * WEIGHT_BYTES[precision] / 1e9


def kv_gb(spec: ModelSpec, context: int, batch: int, precision: str) -> float:
    """KV cache in GB for `batch` sequences of `context` tokens (fp32 cache for fp32 models, else 16-bit)."""
    per_value = 4 if precision == "fp32" else 2
    return spec.kv_bytes_per_token(per_value) * context * batch / 1e9


def _gpus_needed(need_gb: float, mem: float) -> int:
    return max(2, math.ceil(need_gb / mem))


def fits(r: LLMReading, spec: ModelSpec, dev_key: str, mem: float, prec: str, sentence: str) -> dict | None:
    """None when weights + KV cache fit the device, else the verdict naming offload, quantisation or GPUs."""
    w = weight_gb(spec, prec)
    kv = kv_gb(spec, r.context or 0, r.batch or 1, prec)
    need = w + kv
    if need <= mem:
        return None
    arith = (f"{spec.key} holds {spec.params_b:.1f}B parameters: {w:,.1f} GB of {prec} weights"
             + (f" + {kv:,.1f} GB KV cache ({r.context} tokens x batch {r.batch or 1})" if kv else "")
             + f" = {need:,.1f} GB > {mem:g} GB of the {dev_key}")
    int4 = weight_gb(spec, "int4") + kv
    ways = [f"offload to host memory or disk", f"quantisation (int4 weights: {int4:,.1f} GB"
            + (", fits)" if int4 <= mem else ", still does not fit)"),
            f"several GPUs (at least {_gpus_needed(need, mem)} x {mem:g} GB)"]
    if OFFLOAD.search(sentence) or MULTI_GPU.search(sentence):
        return _out("unknown", None, f"{arith}; the claim offloads or uses several GPUs, so the one-device "
                                     "bandwidth and compute bounds do not apply")
    return _out("implausible", need / mem, f"{arith}: cannot run on one {dev_key} without " + ", ".join(ways[:-1])
                + f" or {ways[-1]}")


def decode_bound(r: LLMReading, spec: ModelSpec, dev_key: str, bw_gbs: float, prec: str, assumed: str) -> dict:
    """Tokens/s (per sequence or aggregate) or TPOT against bandwidth / bytes read per decode step."""
    batch = r.batch or 1
    w = weight_gb(spec, prec, active=True, batch=batch)
    kv = kv_gb(spec, r.context or 0, batch, prec)
    step_gb = w + kv
    per_seq = bw_gbs / step_gb
    what = (f"decode at batch {batch} reads {w:,.2f} GB of {prec} weights{assumed}"
            + (f" + {kv:,.2f} GB KV cache ({r.context} tokens x {batch})" if kv else
               " (KV cache not counted: no context length stated)")
            + f" per step; {bw_gbs:,.0f} GB/s / {step_gb:,.2f} GB = {per_seq:,.1f} tok/s per sequence on the {dev_key}")
    if r.metric == "tpot":
        if not r.value_ms:
            return _out("unknown", None, f"{what}; the claimed time has no unit this parser reads")
        floor_ms = 1000.0 / per_seq
        share = floor_ms / r.value_ms
        text = f"{what}, so TPOT >= {floor_ms:,.2f} ms; claimed {r.value_ms:,.4g} ms = {share:.0%} of that bound"
        return _out("implausible" if share > 1 else "plausible", share, text)
    bound, label = per_seq, "per-sequence"
    # a tokens/s figure at a stated batch above 1 is the batch's total unless the sentence says per sequence
    if r.scope == "aggregate" or (r.scope is None and batch > 1):
        bound, label = per_seq * batch, f"aggregate ({batch} x {per_seq:,.1f})"
    share = r.value / bound
    text = f"{what}; {label} bound {bound:,.1f} tok/s; claimed {r.value:,.4g} tok/s = {share:.0%} of it"
    if share > 1 and r.scope is None and not r.batch:
        need = math.ceil(r.value / per_seq)
        return _out("questionable", share, f"{text}: possible only as an aggregate over a batch of at least {need}, "
                                           "which the claim does not state")
    return _out("implausible" if share > 1 else "plausible", share, text)


def prefill_bound(r: LLMReading, spec: ModelSpec, dev, prec: str, assumed: str) -> dict:
    """TTFT against 2 x active parameters x prompt tokens x batch over the peak rate."""
    if not r.input_len:
        return _out("unknown", None, "no prompt length stated: the prefill bound needs one")
    peak = dev.peak(COMPUTE_PRECISION.get(prec, prec))
    if peak is None:
        return _out("unknown", None, f"no {prec} peak for {dev.key} in config/devices.yaml")
    used, tflops = peak
    batch = r.batch or 1
    if not r.value_ms:
        return _out("unknown", None, "the claimed time has no unit this parser reads")
    flop = 2 * spec.active_params * r.input_len * batch
    floor_ms = flop / (tflops * 1e12) * 1000
    share = floor_ms / r.value_ms
    text = (f"prefill of {r.input_len} tokens x batch {batch} needs >= 2 x {spec.active_params / 1e9:.2f}B x "
            f"{r.input_len * batch} = {flop / 1e12:,.1f} TFLOP; at the {dev.key} {used} peak {tflops:g} TFLOP/s"
            f"{assumed} that is >= {floor_ms:,.2f} ms; claimed {r.value_ms:,.4g} ms = {share:.0%} of that bound")
    return _out("implausible" if share > 1 else "plausible", share, text)


def assess_llm(claim: dict, hw: Hardware, devices_file: str | None = None, registry=None) -> dict | None:
    """Plausibility of an LLM-serving claim (None when the claim is not one): fit, decode and prefill bounds."""
    r = read_llm_claim(claim, registry)
    if r is None or r.kind != "absolute":
        return None
    if r.spec is None:
        return _out("unknown", None, r.model_note or "no registry model to size the claim")
    if not r.device:
        return _out("unknown", None, "the claim names no device")
    dev = hw.resolve(r.device)
    if dev is None or dev.kind != "cuda":
        return _out("unknown", None, f"no bandwidth, memory or peak facts for '{r.device}' in config/devices.yaml")
    prec = norm_precision(r.precision) if r.precision else None
    assumed = ""
    if prec not in WEIGHT_BYTES:
        prec, assumed = "fp16", " (precision not stated: fp16 assumed)"
    mem = memory_capacity(devices_file or None).get(dev.key)
    if mem:
        no_fit = fits(r, r.spec, dev.key, mem, prec, str(claim.get("sentence") or ""))
        if no_fit is not None:
            return no_fit
    if r.metric in ("token_throughput", "tpot") and r.value:
        if not dev.memory_gbs:
            return _out("unknown", None, f"no memory bandwidth for {dev.key} in config/devices.yaml")
        return decode_bound(r, r.spec, dev.key, float(dev.memory_gbs), prec, assumed)
    if r.metric == "ttft" and r.value:
        return prefill_bound(r, r.spec, dev, prec, assumed)
    return _out("n/a", None, "")
