"""The CNN suite's entry points: one job for the `bench_cnn` rule, and any sweep for `sovereign bench`."""
from __future__ import annotations

import logging
from pathlib import Path

from .config import BACKEND_PRECISIONS, CnnGrid, CnnSuite, DeviceSpec, devices_from_config
from .errors import BenchConfigError
from .result import write_job
from .runner import CnnJob, run_cnn_job

log = logging.getLogger(__name__)


def job_paths(out_dir: str | Path, device: str, model: str, backend: str, precision: str) -> tuple[Path, Path]:
    """Where one job's rows (.parquet) and report (.json) go: <out>/cnn/<device>/<model>__<backend>__<precision>."""
    stem = Path(out_dir) / "cnn" / device / f"{model}__{backend}__{precision}"
    return stem.with_suffix(".parquet"), stem.with_suffix(".json")


def bench_cnn_job(out_rows: str, out_env: str, device: str, model: str, backend: str, precision: str,
                  job: dict, config_hash: str = "") -> list[dict]:
    """Run one bench_cnn job from the rule's params and write its files; return the rows."""
    suite = CnnSuite.from_config({**job["suite"], "gpu": job["grid"], "cpu": job["grid"]})
    spec = DeviceSpec.from_config(device, dict(job["device"]))
    cnn_job = CnnJob(device=spec, model=model, backend=backend, precision=precision, suite=suite,
                     grid=suite.grid(spec), weights=job.get("weights", ""), cache_dir=job["cache_dir"],
                     config_hash=config_hash)
    rows, report = run_cnn_job(cnn_job)
    write_job(rows, report, out_rows, out_env)
    return rows


def plan_sweep(config: dict, device: str, models=None, backends=None, precisions=None) -> list[tuple[str, str, str]]:
    """(model, backend, precision) triples for `device`: its grid, narrowed by the lists given."""
    devices = devices_from_config(config)
    if device not in devices:
        raise BenchConfigError(f"no device entry named {device!r}; known: {sorted(devices)} (see devices: in the config)")
    suite = CnnSuite.from_config(config.get("bench", {}).get("suites", {}).get("cnn", {}))
    grid = suite.grid(devices[device])
    triples = []
    if backends is None and precisions is None:  # the whole grid, best-path pairs included
        return [(m, b, p) for m in models or grid.models for b, p in grid.pairs()]
    for model in models or grid.models:
        for backend in backends or list(grid.backends):
            if backend not in BACKEND_PRECISIONS:
                raise BenchConfigError(f"unknown backend {backend!r}; use one of {sorted(BACKEND_PRECISIONS)}")
            wanted = precisions or grid.backends.get(backend) or list(BACKEND_PRECISIONS[backend])
            for precision in wanted:
                if precision in BACKEND_PRECISIONS[backend]:
                    triples.append((model, backend, precision))
                elif precisions is None:
                    raise BenchConfigError(f"{backend} has no precision {precision!r}")
    if not triples:
        raise BenchConfigError("nothing to run: no model/backend/precision combination is valid")
    return triples


def run_sweep(config: dict, device: str, out_dir: str, models=None, backends=None, precisions=None,
              batch_sizes=None, skip_existing: bool = False, allow_mismatch: bool | None = None,
              memory_cap_mb: int | None = None, timing: dict | None = None, channels_last: bool | None = None,
              config_hash: str = "", reported_gpu_name: str | None = None, protocols=None,
              compile_mode: str | None = None, cuda_graphs: bool | None = None) -> list[dict]:
    """Run every job of a sweep on `device`, writing the same files as the workflow; return all rows."""
    entry = dict(config["devices"][device]) if device in (config.get("devices") or {}) else None
    if entry is None:
        raise BenchConfigError(f"no device entry named {device!r}; known: {sorted(config.get('devices') or {})}")
    if allow_mismatch is not None:
        entry["allow_mismatch"] = allow_mismatch
    if memory_cap_mb is not None:
        entry["memory_cap_mb"] = memory_cap_mb
    spec = DeviceSpec.from_config(device, entry)
    cnn = dict(config.get("bench", {}).get("suites", {}).get("cnn", {}))
    if timing:
        cnn["timing"] = {**cnn.get("timing", {}), **timing}
    if protocols:
        cnn["protocols"] = list(protocols)
    suite = CnnSuite.from_config(cnn)
    grid = suite.grid(spec)
    if channels_last is not None:
        grid.channels_last = channels_last
    if compile_mode is not None:
        grid.compile_mode = compile_mode
        grid.__post_init__()  # the same check, naming the key, as the config gets
    if cuda_graphs is not None:
        grid.cuda_graphs = cuda_graphs
    cache_dir = config.get("bench", {}).get("cache_dir", "results/bench/cache")
    all_rows = []
    for model, backend, precision in plan_sweep(config, device, models, backends, precisions):
        rows_path, env_path = job_paths(out_dir, device, model, backend, precision)
        if skip_existing and rows_path.exists() and env_path.exists():
            log.info("skipping %s (exists)", rows_path)
            from ..io import read_table

            all_rows.extend(read_table(rows_path).to_dict("records"))
            continue
        job = CnnJob(device=spec, model=model, backend=backend, precision=precision, suite=suite, grid=grid,
                     weights=suite.weights.get(model, ""), cache_dir=cache_dir, config_hash=config_hash,
                     batch_sizes=list(batch_sizes) if batch_sizes else None, with_best_path=not batch_sizes)
        rows, report = run_cnn_job(job, reported_gpu_name=reported_gpu_name)
        write_job(rows, report, rows_path, env_path)
        all_rows.extend(rows)
    return all_rows
