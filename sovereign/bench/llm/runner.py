"""Run one bench_llm job (device x model x backend x precision): every point of the grid becomes one row.

A point that cannot fit is refused up front (`oom`, with the arithmetic) and an allocation
that fails is caught (`oom`); a backend that cannot run here is `unavailable` with the reason;
outputs that disagree with hf_eager's make the row `error`. Rows carry the shared contract
columns (through BenchResult) plus the llm suite's own (see the README).
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import asdict, dataclass, field

from ..config import DeviceSpec
from ..env import collect_env, verify_device
from ..memory import is_oom
from ..result import BenchResult, write_job
from ..tracker import LatencyStats
from .backends import TokenClock, make_backend
from .build import (BYTES, build_model, decode_step_bytes, draw_ids, kv_cache_bytes, memory_needed, weights_bytes)
from .registry import ModelSpec
from .scenario import compare_outputs, expert_load, time_point
from .settings import LlmGrid

log = logging.getLogger(__name__)
GB = 1e9


@dataclass
class LlmJob:
    """One bench_llm job: device, model facts, backend, precision, the grid, and the device's datasheet facts."""

    device: DeviceSpec
    spec: ModelSpec
    backend: str
    precision: str
    grid: LlmGrid = field(default_factory=LlmGrid)
    seed: int = 0
    min_energy_window_s: float = 10.0
    memory_gb: float | None = None  # capacity from config/devices.yaml (None: unknown)
    memory_gbs: float | None = None  # bandwidth from config/devices.yaml (None: unknown)
    config_hash: str = ""


def points(grid: LlmGrid) -> list[tuple[int, int, int]]:
    """(batch, input_len, output_len) of every point, smallest first."""
    return [(b, i, o) for b in grid.batch_sizes for i in grid.input_lens for o in grid.output_lens]


def capacity_bytes(job: LlmJob) -> tuple[float | None, str]:
    """Memory the point may use and where that figure comes from (datasheet, the GPU's free memory, the job's mem_mb)."""
    limits = []
    if job.memory_gb:
        limits.append((job.memory_gb * GB, f"{job.memory_gb:g} GB of the {job.device.name} entry in config/devices.yaml"))
    if job.device.kind == "cuda":
        import torch

        if torch.cuda.is_available():
            free, _total = torch.cuda.mem_get_info()
            limits.append((float(free), f"{free / GB:.1f} GB free on the GPU now"))
    else:
        limits.append((job.device.mem_mb * 2**20, f"{job.device.mem_mb} MB the job may use (devices.{job.device.name}.mem_mb)"))
    if job.device.memory_cap_mb:
        limits.append((job.device.memory_cap_mb * 2**20, f"the {job.device.memory_cap_mb} MB cap (devices.{job.device.name}.memory_cap_mb)"))
    return min(limits) if limits else (None, "")


def refuse_reason(spec: ModelSpec, precision: str, batch: int, context: int, cap: float | None, where: str) -> str:
    """Why a point cannot fit ('' when it can): weights + KV cache + activations against the capacity, with the sums."""
    if cap is None:
        return ""
    need = memory_needed(spec, precision, batch, context)
    if need["total"] <= cap:
        return ""
    return (f"does not fit: weights {need['weights'] / GB:.2f} GB ({spec.params_b:.2f}B x {BYTES[precision]} B, {precision})"
            f" + KV cache {need['kv_cache'] / GB:.2f} GB (batch {batch} x {context} tokens) + activations "
            f"{need['activations'] / GB:.2f} GB = {need['total'] / GB:.2f} GB > {where}; needs offload, quantisation or more GPUs")


def _model_columns(job: LlmJob) -> dict:
    s = job.spec
    return {"model_family": s.family, "model_version": s.version, "model_size": s.size, "params_b": s.params_b,
            "n_experts": s.n_experts, "top_k": s.top_k, "hidden": s.hidden, "layers": s.layers, "heads": s.heads,
            "kv_heads": s.kv_heads, "vocab": s.vocab, "weights_gb": weights_bytes(s, job.precision) / GB,
            "model_source": s.source, "weights_kind": "random N(0, 0.02), seeded"}


def run_llm_job(job: LlmJob, progress: bool = True, backend_factory=make_backend, model=None) -> tuple[list[dict], dict]:
    """Run the job's points; return (rows, report). Every point yields one row, whatever happens."""
    import torch

    started = time.time()
    kind, grid, spec = job.device.kind, job.grid, job.spec
    env = collect_env(kind, job.config_hash)
    dev = "cuda" if kind == "cuda" else "cpu"
    base = {"suite": "llm", "device": job.device.name, "model": spec.key, "backend": job.backend,
            "precision": job.precision, "env": env}
    common = {**_model_columns(job), "seed": job.seed, "warmup": grid.warmup, "device_kind": kind,
              "timer": "cuda_events" if kind == "cuda" else "perf_counter", "protocol": "llm_generate",
              # the threads torch computes with here (bench_llm_job sets the device entry's cpus), as CNN rows say
              "threads_used": torch.get_num_threads(), "torch_threads": torch.get_num_threads(),
              "cores_present": os.cpu_count() or 0}
    report = {"job": {"device": asdict(job.device), "model": spec.key, "backend": job.backend,
                      "precision": job.precision, "grid": asdict(grid)}, "env": env}
    pts = points(grid)

    def row(point, status, reason="", **extra):
        b, i, o = point
        return BenchResult(**base, batch_size=b, status=status, reason=reason, protocol="llm_generate",
                           extras={**common, "input_len": i, "output_len": o,
                                   "kv_cache_gb": kv_cache_bytes(spec, job.precision, b, i + o) / GB, **extra}).to_row()

    def finish(rows, status="done", reason=""):
        for r in rows:
            r["measured_at"] = env["measured_at"]
        report.update(status=status, reason=reason, wall_s=time.time() - started, points=len(rows))
        return rows, report

    if kind == "cuda" and not torch.cuda.is_available():
        return finish([row(p, "unavailable", f"device '{job.device.name}' is a cuda device but torch sees no CUDA GPU")
                       for p in pts], "unavailable")
    mismatch = verify_device(job.device.name, job.device.gpu_name, env.get("gpu_name"), job.device.allow_mismatch) \
        if kind == "cuda" else ""
    cap, where = capacity_bytes(job)
    refusals = {p: refuse_reason(spec, job.precision, p[0], p[1] + p[2], cap, where) for p in pts}
    if all(refusals.values()):
        return finish([row(p, "oom", refusals[p]) for p in pts], "oom")
    try:
        model = model if model is not None else build_model(spec, job.precision, dev, job.seed)
    except Exception as exc:
        if not is_oom(exc):
            raise
        return finish([row(p, "oom", f"building the model: {type(exc).__name__}: {str(exc)[:300]}") for p in pts], "oom")
    backend = backend_factory(job.backend, model, dev, grid.compile)
    why = backend.unavailable()
    if why:
        return finish([row(p, "unavailable", why) for p in pts], "unavailable")
    reference = make_backend("hf_eager", model, dev, False) if job.backend != "hf_eager" else None
    rows = []
    it = pts
    if progress:
        from tqdm import tqdm

        it = tqdm(pts, desc=f"llm {job.device.name} {spec.key} {job.backend} {job.precision}", unit="point")
    for p in it:
        if refusals[p]:
            rows.append(row(p, "oom", refusals[p]))
            continue
        rows.append(_run_point(job, backend, reference, model, p, row, mismatch))
    return finish(rows)


def _run_point(job, backend, reference, model, point, row, mismatch) -> dict:
    """Time and check one point; an allocation failure becomes an `oom` row, any other failure an `error` row."""
    import torch

    from ..energy import energy_meter

    b, i, o = point
    spec, grid, kind = job.spec, job.grid, job.device.kind
    dev = "cuda" if kind == "cuda" else "cpu"
    ids = draw_ids(spec, b, i, job.seed + 7919 * b + 31 * i + o, dev)
    if dev == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    uuid = ""
    if dev == "cuda":  # NVML wants the "GPU-..." string, not torch's uuid object
        uuid = str(torch.cuda.get_device_properties(0).uuid)
        uuid = uuid if uuid.startswith("GPU-") else f"GPU-{uuid}"
    try:
        meter = energy_meter(kind, uuid, job.min_energy_window_s)  # it refuses windows shorter than that
    except Exception:  # no meter: energy stays NULL with its reason below
        meter = None
    try:
        with (meter or contextlib.nullcontext()):
            times = time_point(backend, ids, o, grid.warmup, grid.iterations, grid.prefill_iterations,
                               lambda n: TokenClock(dev, n), window=meter)
        energy = meter.summary() if meter is not None else {"energy_j": None, "energy_note": "no energy meter"}
        ct = min(grid.check_tokens, o)
        clock = TokenClock(dev, o)
        tokens, logits = backend.generate(ids, o, clock, keep_logits=ct)
        if reference is None:
            match, check = True, "hf_eager is the reference"
        else:
            cb = min(grid.check_batch, b)
            ref_tokens, ref_logits = reference.generate(ids[:cb], ct, TokenClock(dev, ct), keep_logits=ct)
            match, check = compare_outputs(tokens[:cb, :ct], logits, ref_tokens, ref_logits, job.precision)
        load = expert_load(model, ids, spec.top_k, spec.n_experts) if spec.is_moe else None
        peak = torch.cuda.max_memory_allocated() / 2**20 if dev == "cuda" else None
    except Exception as exc:
        status = "oom" if is_oom(exc) else "error"
        if status == "error":
            log.exception("%s %s b=%d in=%d out=%d failed", spec.key, job.backend, b, i, o)
        if dev == "cuda":
            torch.cuda.empty_cache()
        return row(point, status, f"{type(exc).__name__}: {str(exc)[:500]}")
    m = times.metrics(b, i, o)
    tpot = m["tpot_ms_p50"]
    step_bytes = decode_step_bytes(spec, job.precision, b, i + o // 2)
    bw = step_bytes / (tpot / 1e3) / 1e12 if tpot else None
    window = energy.get("energy_window_s") or 0.0
    e_tok = energy["energy_j"] / (grid.iterations * b * o) if energy.get("energy_j") is not None else None
    e_note = energy.get("energy_note") or ("" if e_tok is not None else "no energy reading")
    compiled = job.backend != "hf_eager" and grid.compile
    extras = {**m, "outputs_match": match, "outputs_check": check, "expert_load": load,
              "expert_load_note": "share of the prompt tokens' top-k slots per expert (random gates)" if load else "",
              "compile_s": max(0.0, times.prepare_s + times.first_call_s - m["e2e_ms_p50"] / 1e3) if compiled else None,
              "compile_note": "" if compiled else "not compiled", "decode_step_gb": step_bytes / GB,
              "decode_bw_tbs": bw, "memory_gbs_datasheet": job.memory_gbs,
              "roofline_share": bw * 1e3 / job.memory_gbs if bw and job.memory_gbs else None,
              "energy_j_per_token": e_tok, "energy_note": e_note, **backend.notes,
              "energy_window_s": window, "energy_source": energy.get("energy_source", "")}
    status, reason = ("mismatch", mismatch) if mismatch else ("ok", "")
    if not match:
        status, reason = "error", f"outputs disagree with hf_eager: {check}"
    # one pass of timed requests, not repeats that must agree: never called stable or confirmed
    stats = LatencyStats.from_samples([r.e2e_ms for r in times.requests], times.timed_wall_s, protocol="llm_generate",
                                      stable=False)
    r = row(point, status, reason, **extras)
    base_row = BenchResult(suite="llm", device=job.device.name, model=spec.key, backend=job.backend,
                           precision=job.precision, batch_size=b, status=status, reason=reason, stats=stats,
                           peak_mem_mb=peak, env={}, protocol="llm_generate").to_row()
    for k in ("iterations", "peak_mem_mb", "latency_ms_mean", "latency_ms_std", "latency_ms_min", "stable",
              "stop_reason", "timed_wall_s"):
        r[k] = base_row[k]
    r.update(repeats=1, confirmed=False, confirm_note=f"one pass of {len(times.requests)} timed requests, no repeats "
             "that must agree: an unconfirmed measurement (it can fail to reproduce a claim, never contradict it)")
    return r


def bench_llm_job(out_rows: str, out_report: str, device: str, model: str, backend: str, precision: str, job: dict,
                  config_hash: str = "") -> int:
    """One bench_llm rule job: build the job from its params, run its points, write rows and report; return rows."""
    import torch

    from .registry import ModelSpec
    from .settings import LlmSuite

    spec_dev = DeviceSpec(name=device, **job["device"])
    suite = LlmSuite.from_config({**job["suite"], ("gpu" if spec_dev.kind == "cuda" else "cpu"): job["grid"]})
    facts = dict(job["model"])
    model_spec = ModelSpec(**{k: v for k, v in facts.items() if k in ModelSpec.__dataclass_fields__})
    sheet = job.get("datasheet") or {}
    llm_job = LlmJob(device=spec_dev, spec=model_spec, backend=backend, precision=precision, grid=suite.grid(spec_dev),
                     seed=suite.seed, min_energy_window_s=suite.min_energy_window_s, memory_gb=sheet.get("memory_gb"),
                     memory_gbs=sheet.get("memory_gbs"), config_hash=config_hash)
    threads = torch.get_num_threads()
    if spec_dev.kind == "cpu":
        torch.set_num_threads(spec_dev.cpus)  # the device entry's cores, as the row's torch_threads says
    try:
        rows, report = run_llm_job(llm_job)
    finally:
        torch.set_num_threads(threads)
    write_job(rows, report, out_rows, out_report)
    return len(rows)
