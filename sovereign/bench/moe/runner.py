"""Run one bench_moe job (device x workload): sweep dtypes, phases, batch sizes, strategies and dispatches.

Each point is checked first (the two dispatches on identical inputs and routing must agree
within the dtype's tolerance), then timed with the harness's tracker over the whole stack
forward (router, routing decisions, dispatch, combine). Its row carries the contract columns
plus activations, FLOPs, bytes and rates against the device's peaks, among them a bf16
(or the grid's dtype) matrix rate measured in the same process.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field

from ..config import DeviceSpec
from ..env import collect_env, verify_device
from ..memory import is_oom
from ..result import BenchResult, write_job
from ..tracker import TimingConfig, measure
from .config import MoeGrid, MoeSuite
from .cost import stack_cost
from .routing import parse_strategy
from .workloads import make_batch

log = logging.getLogger(__name__)
# Relative Frobenius error allowed between the two dispatches, by dtype.
TOLERANCE = {"fp32": 1e-4, "fp16": 1e-2, "bf16": 2e-2}


@dataclass
class MoeJob:
    """One bench_moe job: a device, a workload, the suite settings and the device kind's grid."""

    device: DeviceSpec
    workload: str
    suite: MoeSuite = field(default_factory=MoeSuite)
    grid: MoeGrid = field(default_factory=MoeGrid)
    peaks: dict = field(default_factory=dict)
    config_hash: str = ""
    levels: tuple = ("block", "model")  # block: the stack grid; model: the grid's `model` points (when set)


def measure_device_rates(kind: str, dtype: str, timing: TimingConfig) -> dict:
    """A large matrix product's TFLOP/s in `dtype` and a device copy's GB/s, measured now."""
    import torch

    from .block import TORCH_DTYPES

    dev = "cuda" if kind == "cuda" else "cpu"
    n = 8192 if kind == "cuda" else 512
    g = torch.Generator(device=dev).manual_seed(1)
    a = torch.randn(n, n, generator=g, device=dev).to(TORCH_DTYPES[dtype])  # random, not zeros: zeros run faster
    b = torch.randn(n, n, generator=g, device=dev).to(TORCH_DTYPES[dtype])
    cfg = TimingConfig(warmup=3, min_iterations=10, max_iterations=50, round_iterations=5, time_budget_s=3.0)
    mm = measure(lambda: torch.mm(a, b), cfg, "cuda" if kind == "cuda" else "cpu")
    elems = (2 << 30) // 2 if kind == "cuda" else 1 << 22
    src = torch.randn(elems, generator=g, device=dev).to(torch.bfloat16)
    dst = torch.empty_like(src)
    cp = measure(lambda: dst.copy_(src), cfg, "cuda" if kind == "cuda" else "cpu")
    del a, b, src, dst
    return {"measured_matmul_tflops": 2 * n ** 3 / (mm.median_ms / 1e3) / 1e12, "measured_matmul_n": n,
            "measured_matmul_dtype": dtype, "measured_copy_gbs": 2 * elems * 2 / (cp.median_ms / 1e3) / 1e9}


def _logit(p):
    import torch

    p = torch.as_tensor(p, dtype=torch.float32).clamp(1e-4, 1 - 1e-4)
    return torch.log(p) - torch.log1p(-p)


def check_dispatch(stack, x, strategy, prior, sync_free: bool = False) -> float:
    """Largest relative error between loop and grouped dispatch, layer by layer on identical inputs and routing."""
    import torch
    import torch.nn.functional as F

    from .dispatch import dispatch_grouped, dispatch_loop

    worst = 0.0
    for lw in stack.layers:
        h = F.rms_norm(x, (x.shape[-1],), lw.norm)
        routing = stack.layer_routing(lw, h, strategy, prior)
        a = dispatch_loop(h, routing, lw.w_in, lw.w_out, lw.vscale, stack.block.activation).float()
        b = dispatch_grouped(h, routing, lw.w_in, lw.w_out, lw.vscale, stack.block.activation, stack.grouped_impl,
                             sync_free=sync_free).float()
        if not torch.isfinite(b).all():
            return math.inf
        worst = max(worst, float((a - b).norm() / a.norm().clamp_min(1e-12)))
        x = x + a.to(x.dtype)
    return worst


def _rates(cost: dict, median_ms: float, dev_rates: dict, peaks: dict, dtype: str) -> dict:
    """Achieved TFLOP/s and GB/s, their shares of measured and datasheet peaks, and the two floors."""
    s = median_ms / 1e3
    tflops, gbs = cost["flops"] / s / 1e12, cost["bytes"] / s / 1e9
    mm, peak_tf = dev_rates.get("measured_matmul_tflops"), (peaks.get("peak_tflops") or {}).get(dtype)
    bw = peaks.get("memory_gbs")
    floor_c = cost["flops"] / (mm * 1e12) * 1e3 if mm else None
    floor_m = cost["bytes"] / ((bw or dev_rates.get("measured_copy_gbs")) * 1e9) * 1e3
    return {"achieved_tflops": tflops, "achieved_gbs": gbs,
            "achieved_tflops_share": tflops / mm if mm else None,
            "share_of_peak_tflops": tflops / peak_tf if peak_tf else None,
            "share_of_peak_bandwidth": gbs / bw if bw else None,
            "peak_tflops_datasheet": peak_tf, "memory_gbs_datasheet": bw,
            "floor_ms_compute": floor_c, "floor_ms_memory": floor_m,
            "bound": "compute" if (floor_c or 0) >= floor_m else "memory",
            "ridge_flop_per_byte": (mm * 1e12) / ((bw or dev_rates["measured_copy_gbs"]) * 1e9) if mm else None}


def _activations(records: list[dict]) -> dict:
    """Activation counts averaged over layers (per token and layer) and summed over the stack."""
    n = len(records)
    return {"real_act_per_token": sum(r["real_per_token"] for r in records) / n,
            "virtual_act_per_token": sum(r["virtual_per_token"] for r in records) / n,
            "real_activations": sum(r["real"] for r in records),
            "virtual_activations": sum(r["virtual"] for r in records),
            "virtual_share": sum(r["virtual"] for r in records) / max(1, sum(r["real"] + r["virtual"] for r in records)),
            "experts_touched_per_layer": sum(r["experts_touched"] for r in records) / n,
            "rows_executed": sum(r["rows"] for r in records)}


def _points(grid: MoeGrid):
    for dtype in grid.dtypes:
        for phase in grid.phases:
            for batch in grid.batch_sizes:
                for strategy in grid.strategies:
                    yield dtype, phase, batch, strategy


def run_moe_job(job: MoeJob, progress: bool = True, reported_gpu_name: str | None = None) -> tuple[list[dict], dict]:
    """Run the job's grid; return (rows, report). Every point yields one row per dispatch, whatever happens."""
    import torch

    started = time.time()
    measured_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))
    kind = job.device.kind
    threads = torch.get_num_threads()
    if kind == "cpu":
        torch.set_num_threads(1)  # the CPU grid's ops are tiny: more threads only contend (the env row says 1)
    try:
        return _run_job(job, progress, reported_gpu_name, started, measured_at)
    finally:
        torch.set_num_threads(threads)


def _run_job(job, progress, reported_gpu_name, started, measured_at) -> tuple[list[dict], dict]:
    """The body of run_moe_job, with the thread count already set."""
    import torch

    from .block import MoEStack

    kind, grid, suite = job.device.kind, job.grid, job.suite
    env = collect_env(kind, job.config_hash)
    if reported_gpu_name is not None:
        env["gpu_name"] = reported_gpu_name
    timer = "cuda" if kind == "cuda" else "cpu"
    timing = TimingConfig(**{**asdict(suite.timing), "time_budget_s": grid.time_budget_s})
    blk = grid.block
    base = {"suite": "moe_routing", "device": job.device.name, "model": blk.name, "env": env}
    common = {"workload": job.workload, "hidden": blk.hidden, "ffn": blk.ffn, "experts": blk.experts,
              "layers": blk.layers, "activation": blk.activation, "virtual_experts_available": blk.virtual_experts,
              "seed": suite.seed, "timer": "cuda_events" if kind == "cuda" else "perf_counter",
              "warmup": timing.warmup, "time_budget_s": timing.time_budget_s, "device_kind": kind}
    report = {"job": {"device": asdict(job.device), "workload": job.workload, "suite": asdict(suite),
                      "grid": asdict(grid), "peaks": job.peaks}, "env": env}
    points = list(_points(grid)) if "block" in job.levels else []

    def refuse(status, reason):
        rows = [BenchResult(**base, backend=s, precision=d, batch_size=b, status=status, reason=reason,
                            extras={**common, "phase": ph, "dispatch": disp}).to_row()
                for d, ph, b, s in points for disp in grid.dispatches]
        return rows, {**report, "status": status, "reason": reason}

    if kind == "cuda" and not torch.cuda.is_available():
        return refuse("unavailable", f"device '{job.device.name}' is a cuda device but torch sees no CUDA GPU")
    mismatch = verify_device(job.device.name, job.device.gpu_name, env.get("gpu_name"), job.device.allow_mismatch) if kind == "cuda" else ""
    dev = "cuda" if kind == "cuda" else "cpu"
    rows: list[dict] = []
    it = points
    if progress:
        from tqdm import tqdm

        it = tqdm(points, desc=f"moe {job.device.name} {job.workload}", unit="point")
    stacks, rates = {}, {}
    with torch.inference_mode():
        for dtype, phase, samples, sname in it:
            if dtype not in stacks:
                stacks.clear()
                stacks[dtype] = MoEStack(blk, dtype, dev, suite.seed)
                rates[dtype] = measure_device_rates(kind, dtype, suite.timing)
                report.setdefault("device_rates", {})[dtype] = rates[dtype]
            stack = stacks[dtype]
            strategy = parse_strategy(sname, blk.experts, suite.topp_max_k, suite.ondemand)
            batch = make_batch(job.workload, phase, samples, suite.workload, suite.seed)
            point = {"phase": phase, "tokens": batch.tokens, "tokens_per_sample": batch.tokens / samples,
                     "question_tokens_mean": float(batch.question_tokens.mean()), "strategy_kind": strategy.kind,
                     "max_slots": strategy.max_slots, "grouped_impl": stack.grouped_impl}
            for disp in grid.dispatches:
                rows.append(_run_point(stack, batch, strategy, disp, dtype, timing, timer, rates[dtype], job,
                                       {**base, "backend": sname, "precision": dtype, "batch_size": samples},
                                       {**common, **point, **rates[dtype]}, mismatch))
    if grid.model is not None and "model" in job.levels:  # the same strategies in every MoE layer of the MoE-LLaVA-shaped model
        from .serve import run_model_points

        rows += run_model_points(job, grid, dev, grid.dtypes[0], env, mismatch)
    for row in rows:
        row.setdefault("level", "block")
        row["measured_at"] = measured_at
    report.update(status="done", wall_s=time.time() - started, points=len(rows), measured_at=measured_at)
    return rows, report


def capture_graph(stack, x, strategy, prior):
    """Capture one sync-free forward in a CUDA graph; return (replay, its output) for timing and checking."""
    import torch

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(2):  # warm-up outside capture (allocator, grouped-GEMM setup)
            stack.forward(x, strategy, "graph", prior)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = stack.forward(x, strategy, "graph", prior)
    graph.replay()
    torch.cuda.synchronize()
    return graph.replay, out


def _run_point(stack, batch, strategy, disp, dtype, timing, timer, dev_rates, job, ident, extras, mismatch) -> dict:
    """Check, then time one (point, dispatch); an exception becomes an `oom` or `error` row."""
    import torch

    x = stack.inputs(batch.tokens, seed=job.suite.seed + batch.samples)
    prior = _logit(batch.importance).to(x.device)
    extras = {**extras, "dispatch": disp}
    if disp == "graph" and timer != "cuda":
        return BenchResult(**ident, status="unavailable", reason="the graph dispatch replays a CUDA graph; it needs a CUDA device",
                           extras=extras).to_row()
    try:
        if timer == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        err = check_dispatch(stack, x, strategy, prior, sync_free=disp == "graph")
        tol = TOLERANCE[dtype]
        records: list = []
        eager = stack.forward(x, strategy, disp, prior, record=records)
        cost = stack_cost(stack.block, records, stack.layers[0].w_in.element_size())
        step = lambda: stack.forward(x, strategy, disp, prior)  # noqa: E731
        if disp == "graph":
            step, replayed = capture_graph(stack, x, strategy, prior)
            err = max(err, float((replayed.float() - eager.float()).norm() / eager.float().norm().clamp_min(1e-12)))
        stats = measure(step, timing, timer)
        peak = torch.cuda.max_memory_allocated() / 2**20 if timer == "cuda" else None
        extras.update(_activations(records), **cost, **_rates(cost, stats.median_ms, dev_rates, job.peaks, dtype),
                      agreement_rel_err=err, agreement_tol=tol, agreement_ok=err <= tol,
                      tokens_per_s=batch.tokens / (stats.median_ms / 1e3),
                      samples_per_s=batch.samples / (stats.median_ms / 1e3))
        status, reason = ("mismatch", mismatch) if mismatch else ("ok", "")
        if err > tol:
            status, reason = "error", f"loop and {disp} dispatch disagree: relative error {err:.3g} > {tol:g} ({dtype})"
        log.info("%s %s %s b=%d %s: p50 %.3f ms, real %.2f/token", batch.workload, batch.phase, strategy.name,
                 batch.samples, disp, stats.median_ms, extras["real_act_per_token"])
        return BenchResult(**ident, status=status, reason=reason, stats=stats,
                           peak_mem_mb=peak, extras=extras).to_row()
    except Exception as exc:
        status = "oom" if is_oom(exc) else "error"
        if status == "error":
            log.exception("%s %s b=%d %s failed", strategy.name, batch.phase, batch.samples, disp)
        if timer == "cuda":
            torch.cuda.empty_cache()
        return BenchResult(**ident, status=status, reason=f"{type(exc).__name__}: {str(exc)[:500]}",
                           extras=extras).to_row()


def bench_moe_job(out_rows: str, out_report: str, device: str, workload: str, job: dict, config_hash: str = "") -> int:
    """One bench_moe rule job: build the job from its params, run its grid, write rows and report; return rows."""
    spec = DeviceSpec(name=device, **job["device"])
    suite = MoeSuite.from_config({**job["suite"], ("gpu" if spec.kind == "cuda" else "cpu"): job["grid"]})
    moe_job = MoeJob(device=spec, workload=workload, suite=suite, grid=suite.grid(spec), peaks=job.get("peaks") or {},
                     config_hash=config_hash)
    rows, report = run_moe_job(moe_job)
    write_job(rows, report, out_rows, out_report)
    return len(rows)
