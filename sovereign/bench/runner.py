"""Run one CNN job (device x model x backend x precision), sweeping batch sizes; write its rows and environment.

Every batch size yields a row, whatever happens: `ok` with numbers, `oom` (and the sweep
goes on), `unavailable` with the reason (missing library, absent provider, silent
fallback), `error` with the exception, or `mismatch` when the GPU is not the one the
device entry names and the entry allows that.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .backends import get_backend
from .backends.base import BackendContext
from .config import CnnGrid, CnnSuite, DeviceSpec
from .env import collect_env, verify_device
from .errors import BackendUnavailable
from .memory import is_oom, memory_cap
from .models import build_model, gflop_per_item, synthetic_batch, weights_id
from .energy import energy_meter
from .protocol import run_protocol
from .result import BenchResult

log = logging.getLogger(__name__)


@dataclass
class CnnJob:
    """One bench_cnn job: what to run, where, and with which suite settings."""

    device: DeviceSpec
    model: str
    backend: str
    precision: str
    suite: CnnSuite = field(default_factory=CnnSuite)
    grid: CnnGrid = field(default_factory=CnnGrid)
    weights: str = ""
    cache_dir: str = "results/bench/cache"
    config_hash: str = ""
    batch_sizes: list | None = None
    part: str = "grid"
    with_best_path: bool = True  # off when a sweep names its own batch sizes

    def __post_init__(self):
        if self.batch_sizes is None:  # the grid's sizes, or none when only the best path names this pair
            own = self.precision in self.grid.backends.get(self.backend, [])
            self.batch_sizes = list(self.grid.batch_sizes) if own or not self.grid.best_path else []

    @property
    def name(self) -> str:
        """The job's file stem: model__backend__precision."""
        return f"{self.model}__{self.backend}__{self.precision}"


def _agreement(backend, model, suite: CnnSuite) -> dict:
    """Max abs/relative error and top-1 agreement of the backend against torch FP32 on the CPU, same inputs."""
    import numpy as np
    import torch

    x = synthetic_batch(suite.agreement_batch, suite.seed + 1)
    with torch.no_grad():
        ref = model(x).numpy()
    prepared = backend.prepare(x)
    backend.build_for(prepared)  # a compiled backend builds (and records) this batch size's graph here
    out = backend.to_numpy(backend.run(prepared))
    err = float(np.max(np.abs(out - ref)))
    return {"max_abs_err": err, "rel_err": err / max(float(np.max(np.abs(ref))), 1e-12),
            "top1": float(np.mean(out.argmax(1) == ref.argmax(1))),
            "ref_top1_classes": int(len(np.unique(ref.argmax(1)))), "items": int(len(x)),
            "reference": "torch fp32 cpu"}


def _context(job: CnnJob, model) -> BackendContext:
    return BackendContext(device=job.device, model_name=job.model, precision=job.precision, model=model,
                          cache_dir=Path(job.cache_dir), seed=job.suite.seed, channels_last=job.grid.channels_last,
                          compile_mode=job.grid.compile_mode, ort_providers=list(job.grid.ort_providers),
                          max_batch=max(max(job.batch_sizes), job.suite.agreement_batch),
                          calibration_batches=job.suite.calibration_batches,
                          calibration_batch_size=job.suite.calibration_batch_size,
                          weights_id=weights_id(job.weights), int8_per_channel=job.suite.int8_per_channel,
                          cuda_graphs=job.grid.cuda_graphs)


def _measure_point(backend, job: CnnJob, batch: int, uuid: str, protocol: str = "stable") -> tuple:
    """Build for this batch size, then time it with `protocol`; return (stats, peak MB, energy summary, build facts).

    The energy meter counts only the protocol's timed segments: compilation, graph capture
    and warm-up happen outside them.
    """
    host = synthetic_batch(batch, job.suite.seed)
    with memory_cap(job.device.memory_cap_mb, job.device.kind):
        backend.reset_peak_memory()
        prepared = backend.prepare(host)
        built = backend.build_for(prepared)  # one graph per batch size, before anything is timed
        if job.suite.h2d_in_timed_region:
            def step():
                return backend.run(backend.prepare(host))
        else:
            def step():
                return backend.run(prepared)
        with energy_meter(job.device.kind, uuid) as meter:
            stats = run_protocol(protocol, step, job.suite.timing, job.suite.protocol_settings, backend.timer,
                                 window=meter, stream=backend.stream)
        peak = backend.peak_memory_mb()
    return stats, peak, meter.summary(), built


def _threads(backend, job: CnnJob) -> dict:
    """Threads this job's backend computes with, the cores the host has, and torch's thread count after load."""
    info = backend.info or {}
    used = info.get("ort_threads") if job.backend == "onnxruntime" else info.get("torch_threads_used")
    out = {"threads_used": int(used or job.device.cpus), "cores_present": os.cpu_count() or 0}
    try:
        import torch

        out["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return out


def _point_row(backend, job: CnnJob, batch: int, protocol: str, uuid: str, mismatch: str, point: dict) -> dict:
    """One (batch, protocol) row: measured, or `oom`/`error` with the exception."""
    extras = point["extras"]
    try:
        stats, peak, power, built = _measure_point(backend, job, batch, uuid, protocol)
        res = BenchResult(**point, status="mismatch" if mismatch else "ok", reason=mismatch, stats=stats,
                          peak_mem_mb=peak, power=power)
        res.extras = {**extras, **built,
                      "achieved_tflops": stats.throughput_ips(batch) * gflop_per_item(job.model) / 1000}
        log.info("%s bs=%d %s: p50 %.3f ms, %.1f items/s (%s, %d it)", job.name, batch, protocol, stats.median_ms,
                 stats.throughput_ips(batch), stats.stop_reason, stats.iterations)
    except Exception as exc:
        if not is_oom(exc):
            log.exception("%s bs=%d failed", job.name, batch)
        status = "oom" if is_oom(exc) else "error"
        res = BenchResult(**point, status=status, reason=f"{type(exc).__name__}: {str(exc)[:500]}")
        log.warning("%s bs=%d: %s", job.name, batch, res.reason)
        backend.recover()
    return res.to_row()


def best_path_job(job: CnnJob) -> CnnJob | None:
    """The job's best-path pass (channels-last, compiled, large batches) when the grid's best path names its pair."""
    bp = job.grid.best_path
    if not bp or not job.with_best_path or job.precision not in bp["backends"].get(job.backend, []):
        return None
    grid = job.grid.best_grid()
    return CnnJob(device=job.device, model=job.model, backend=job.backend, precision=job.precision, suite=job.suite,
                  grid=grid, weights=job.weights, cache_dir=job.cache_dir, config_hash=job.config_hash,
                  batch_sizes=list(grid.batch_sizes), part="best_path")


def run_cnn_job(job: CnnJob, reported_gpu_name: str | None = None, progress: bool = True) -> tuple[list[dict], dict]:
    """Run the job's sweep, then its best-path pass if any; return (rows, report). The report keeps both passes."""
    best = best_path_job(job)
    rows, report = _run_pass(job, reported_gpu_name, progress) if job.batch_sizes else ([], {})
    if best is None:
        return rows, report
    best_rows, best_report = _run_pass(best, reported_gpu_name, progress)
    # a separate pass: its own model copy in its own layout, so the grid's rows are not changed by it
    return rows + best_rows, {**(report or best_report), "best_path": best_report}


def _run_pass(job: CnnJob, reported_gpu_name: str | None = None, progress: bool = True) -> tuple[list[dict], dict]:
    """Run one pass over the job's batch sizes; return (rows, report). `reported_gpu_name` is a test seam."""
    started = time.time()
    env = collect_env(job.device.kind, job.config_hash)
    if reported_gpu_name is not None:
        env["gpu_name"] = reported_gpu_name
    mismatch = ""
    if job.device.kind == "cuda":
        mismatch = verify_device(job.device.name, job.device.gpu_name, env.get("gpu_name"), job.device.allow_mismatch)
    base = {"suite": "cnn", "device": job.device.name, "model": job.model, "backend": job.backend,
            "precision": job.precision, "env": env}
    common = {"h2d_in_timed_region": job.suite.h2d_in_timed_region, "seed": job.suite.seed,
              "weights": weights_id(job.weights), "gflop_per_item": gflop_per_item(job.model),
              "timer": "cuda_events" if job.device.kind == "cuda" else "perf_counter",
              "warmup": job.suite.timing.warmup, "rel_spread_bound": job.suite.timing.rel_spread,
              "time_budget_s": job.suite.timing.time_budget_s, "device_kind": job.device.kind,
              "expected_gpu": job.device.gpu_name, "memory_cap_mb": job.device.memory_cap_mb,
              "min_duration_s": job.suite.timing.min_duration_s, "grid_part": job.part}
    report = {"job": {"device": asdict(job.device), "model": job.model, "backend": job.backend,
                      "precision": job.precision, "batch_sizes": job.batch_sizes, "suite": asdict(job.suite),
                      "grid": asdict(job.grid), "weights": job.weights}, "env": env}

    def rows_for_all(status, reason, extras=None):
        return [BenchResult(**base, batch_size=b, status=status, reason=reason, protocol=p,
                            extras={**common, **(extras or {})}).to_row()
                for b in job.batch_sizes for p in job.suite.protocols]

    if mismatch and not env.get("gpu_name"):
        rows = rows_for_all("mismatch", mismatch)
        return rows, {**report, "status": "mismatch", "reason": mismatch}
    model = build_model(job.model, job.weights, job.suite.seed)
    t0 = time.perf_counter()
    try:
        backend = get_backend(job.backend)(_context(job, model))
        backend.load()
    except BackendUnavailable as exc:
        log.warning("%s on %s: unavailable: %s", job.name, job.device.name, exc)
        return rows_for_all("unavailable", str(exc)), {**report, "status": "unavailable", "reason": str(exc)}
    except Exception as exc:  # a backend that fails to build is an error row, not a crash of the sweep
        status = "oom" if is_oom(exc) else "error"
        reason = f"load failed: {type(exc).__name__}: {exc}"
        log.exception("%s on %s: %s", job.name, job.device.name, reason)
        return rows_for_all(status, reason), {**report, "status": status, "reason": reason}
    load_s = time.perf_counter() - t0
    # threads are set by the backend's load: read them now, not when the environment was collected
    env.update(_threads(backend, job))
    try:
        agreement = _agreement(backend, model, job.suite)
    except Exception as exc:  # keep measuring; the rows say agreement could not be checked
        agreement = {"error": f"{type(exc).__name__}: {exc}"}
    extras = {**common, **backend.info, "load_s": load_s}
    report.update(info=backend.info, agreement=agreement, load_s=load_s)
    rows = []
    uuid = env.get("gpu_uuid", "")
    batches = job.batch_sizes
    if progress:
        try:  # a bare GPU host may lack tqdm: the log lines still say where the sweep is
            from tqdm import tqdm

            batches = tqdm(batches, desc=f"{job.device.name} {job.name} {job.part}", unit="batch")
        except ImportError:
            pass
    for batch in batches:
        for protocol in job.suite.protocols:
            rows.append(_point_row(backend, job, batch, protocol, uuid, mismatch,
                                   dict(base, batch_size=batch, agreement=agreement, extras=extras, protocol=protocol)))
    backend.close()
    report.update(status="done", wall_s=time.time() - started)
    return rows, report
