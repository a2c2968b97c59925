"""ResNet speed on a GPU through the harness's own backends: eager, compiled, max-autotune, CUDA graphs, large batches.

Mode `speed` (default): ResNet-18 FP16 and BF16 variants at large batch sizes, each checked
against eager FP32 (relative error of the logits), timed with the harness's protocol code
(CUDA events on the backend's own stream), a table printed and JSON written after every
variant (so a run cut short keeps what it measured), then a short torch.profiler trace of
the fastest variant with its top kernels. Mode `protocols`: the `deepgap` and `stable`
protocols on the same grid (ResNet-18/50, FP32/FP16, batch 1..512) side by side.
On a machine without CUDA it runs tiny sizes on the CPU (so a test can run it); CUDA-only
variants are recorded as unavailable with the reason.

    python3 benchmarks/bench_gpu_speed.py --out $OUT/speed
    python3 benchmarks/bench_gpu_speed.py --mode protocols --out $OUT/protocols
    python3 benchmarks/bench_gpu_speed.py --variants compile_ro_cl,cudagraph_cl --batches 1024 2048 --out $OUT/s2
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sovereign.bench.backends import get_backend  # noqa: E402
from sovereign.bench.backends.base import BackendContext  # noqa: E402
from sovereign.bench.config import DeviceSpec  # noqa: E402
from sovereign.bench.env import collect_env  # noqa: E402
from sovereign.bench.errors import BackendUnavailable  # noqa: E402
from sovereign.bench.models import build_model, gflop_per_item  # noqa: E402
from sovereign.bench.protocol import DeepGapSettings, ProtocolSettings, run_protocol  # noqa: E402
from sovereign.bench.tracker import TimingConfig  # noqa: E402

log = logging.getLogger("bench_gpu_speed")

# name -> (backend, compile_mode, channels_last, cuda_graphs): the options a user can turn on in the config
VARIANTS = {
    "eager": ("torch_eager", "default", False, False),
    "eager_cl": ("torch_eager", "default", True, False),
    "cudagraph_cl": ("torch_eager", "default", True, True),
    "compile_cl": ("torch_compile", "default", True, False),
    "compile_ro_cl": ("torch_compile", "reduce-overhead", True, False),
    "compile_ma_cl": ("torch_compile", "max-autotune", True, False),
}
DEFAULT_VARIANTS = {"fp16": ["eager_cl", "cudagraph_cl", "compile_cl", "compile_ro_cl", "compile_ma_cl"],
                    "bf16": ["eager_cl", "compile_ro_cl"]}
TOLERANCE = {"fp32": 1e-3, "fp16": 2e-2, "bf16": 5e-2}  # relative logit error against eager FP32


def images(batch: int, size: int):
    """Seeded standard-normal images: the harness's synthetic batch at 224 px, a smaller square for CPU smoke runs."""
    import torch

    from sovereign.bench.models import synthetic_batch

    if size == 224:
        return synthetic_batch(batch, 0)
    return torch.randn((batch, 3, size, size), generator=torch.Generator().manual_seed(0))


def build(variant: str, model_name: str, precision: str, device: DeviceSpec, model):
    """A loaded harness backend for one variant."""
    backend, mode, cl, graphs = VARIANTS[variant]
    ctx = BackendContext(device=device, model_name=model_name, precision=precision, model=model,
                         channels_last=cl, compile_mode=mode, cuda_graphs=graphs)
    b = get_backend(backend)(ctx)
    b.load()
    return b


def reference(model, x, device: DeviceSpec):
    """Eager FP32 logits (TF32 off) on the measuring device, as float32 on the host."""
    import torch

    dev = torch.device("cuda" if device.kind == "cuda" else "cpu")
    # TF32 off for the reference only: the flags are global, and a tf32 variant built before this call
    # must still run with TF32 (else its rows are FP32 numbers labelled tf32)
    saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        m = model.to(dev).eval()
        with torch.no_grad():
            out = m(x.to(dev)).float().cpu()
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
        model.to("cpu")
    return out


def time_variant(b, x, timing: TimingConfig, protocol: str = "stable", settings: ProtocolSettings | None = None):
    """(stats, build facts, prepared input, output) of one backend on input x."""
    prepared = b.prepare(x)
    built = b.build_for(prepared)
    # copied out before timing: a CUDA-graph output is overwritten (and guarded) by the next replay
    out = b.to_numpy(b.run(prepared))
    stats = run_protocol(protocol, lambda: b.run(prepared), timing, settings or ProtocolSettings(), b.timer,
                         stream=b.stream)
    return stats, built, out


def rel_err(out, ref) -> float:
    import numpy as np

    ref = ref.numpy()
    return float(np.max(np.abs(out - ref)) / max(float(np.max(np.abs(ref))), 1e-12))


def speed(args, device: DeviceSpec, out_dir: Path) -> list[dict]:
    """Every (precision, variant, batch) of the speed grid; one JSON row each, written as they come."""
    import torch

    rows: list[dict] = []
    timing = TimingConfig(warmup=args.warmup, min_iterations=args.min_iterations, max_iterations=args.max_iterations,
                          round_iterations=10, time_budget_s=args.time_budget_s, min_duration_s=args.min_duration_s)
    model = build_model(args.model, "", 0)
    refs: dict[int, object] = {}  # eager FP32 logits per batch size, computed once
    started = time.time()
    for precision in args.precisions:
        for variant in (args.variants or DEFAULT_VARIANTS.get(precision, ["eager_cl"])):
            try:
                b = build(variant, args.model, precision, device, model)
            except BackendUnavailable as exc:
                rows.append({"variant": variant, "precision": precision, "status": "unavailable", "reason": str(exc)})
                log.warning("%s %s: unavailable: %s", precision, variant, exc)
                (out_dir / "speed.json").write_text(json.dumps(rows, indent=1, default=str))
                continue
            for batch in args.batches:
                if time.time() - started > args.budget_s:
                    rows.append({"variant": variant, "precision": precision, "batch_size": batch, "status": "skipped",
                                 "reason": f"time budget {args.budget_s} s spent"})
                    continue
                row = {"model": args.model, "variant": variant, "precision": precision, "batch_size": batch,
                       **dict(zip(("backend", "compile_mode", "channels_last", "cuda_graphs"), VARIANTS[variant]))}
                row["memory_format"] = "channels_last" if row.pop("channels_last") else "nchw"
                try:
                    x = images(batch, args.image_size)
                    if batch not in refs:
                        refs[batch] = reference(model, x, device)
                    ref = refs[batch]
                    stats, built, out = time_variant(b, x, timing)
                    err = rel_err(out, ref)
                    ips = stats.throughput_ips(batch)
                    row.update(status="ok" if err <= TOLERANCE[precision] else "error",
                               reason="" if err <= TOLERANCE[precision] else f"relative error {err:.3g} > {TOLERANCE[precision]}",
                               images_per_s=ips, latency_ms_p50=stats.median_ms, latency_ms_p90=stats.p90_ms,
                               iterations=stats.iterations, stop_reason=stats.stop_reason, rel_err_vs_fp32=err,
                               tflops=ips * gflop_per_item(args.model) / 1000 if args.image_size == 224 else None,
                               **built)
                    log.info("%s %s b=%d: %.0f images/s (p50 %.3f ms, err %.2g)", precision, variant, batch, ips,
                             stats.median_ms, err)
                except Exception as exc:  # an OOM or a compile failure is a row, the sweep goes on
                    oom = "out of memory" in str(exc).lower()
                    row.update(status="oom" if oom else "error", reason=f"{type(exc).__name__}: {str(exc)[:400]}")
                    log.warning("%s %s b=%d: %s\n%s", precision, variant, batch, row["reason"], traceback.format_exc())
                    if device.kind == "cuda":
                        torch.cuda.empty_cache()
                rows.append(row)
                (out_dir / "speed.json").write_text(json.dumps(rows, indent=1, default=str))
            b.close()
            if device.kind == "cuda":
                torch._dynamo.reset()
                torch.cuda.empty_cache()
    return rows


def profile_best(args, device: DeviceSpec, rows: list[dict], out_dir: Path) -> dict:
    """A short torch.profiler trace of the fastest ok variant: top kernels by device (or CPU) time."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    ok = [r for r in rows if r.get("status") == "ok"]
    if not ok:
        return {"note": "no successful variant to profile"}
    best = max(ok, key=lambda r: r["images_per_s"])
    b = build(best["variant"], args.model, best["precision"], device, build_model(args.model, "", 0))
    x = images(best["batch_size"], args.image_size)
    prepared = b.prepare(x)
    b.build_for(prepared)
    for _ in range(3):
        b.run(prepared)
    cuda = device.kind == "cuda"
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    if cuda:
        torch.cuda.synchronize()
    with profile(activities=acts) as prof:
        for _ in range(args.profile_iterations):
            b.run(prepared)
        if cuda:
            torch.cuda.synchronize()
    attr = "self_device_time_total" if cuda else "self_cpu_time_total"
    events = [e for e in prof.key_averages() if getattr(e, attr, 0) > 0]
    total = sum(getattr(e, attr) for e in events) or 1.0
    top = sorted(events, key=lambda e: getattr(e, attr), reverse=True)[:args.top_kernels]
    summary = {"variant": best["variant"], "precision": best["precision"], "batch_size": best["batch_size"],
               "iterations": args.profile_iterations, "time_kind": attr,
               "total_ms": total / 1000, "per_iteration_ms": total / 1000 / args.profile_iterations,
               "top": [{"name": e.key, "ms": getattr(e, attr) / 1000, "share": getattr(e, attr) / total,
                        "calls": e.count} for e in top]}
    (out_dir / "profile.json").write_text(json.dumps(summary, indent=1))
    (out_dir / "profile_table.txt").write_text(prof.key_averages().table(sort_by=attr, row_limit=25))
    b.close()
    return summary


def protocols(args, device: DeviceSpec, out_dir: Path) -> list[dict]:
    """deepgap and stable on the same points; a side-by-side row per point with their throughput ratio."""
    settings = ProtocolSettings(deepgap=DeepGapSettings(warmup=args.deepgap_warmup, iterations=args.deepgap_iterations,
                                                        repeats=args.deepgap_repeats))
    timing = TimingConfig(warmup=10, min_iterations=20, max_iterations=300, round_iterations=10,
                          time_budget_s=args.time_budget_s, min_duration_s=args.min_duration_s)
    rows = []
    for model_name in args.models:
        model = build_model(model_name, "", 0)
        for precision in args.protocol_precisions:
            b = build(args.protocol_variant, model_name, precision, device, model)
            for batch in args.protocol_batches:
                x = images(batch, args.image_size)
                row = {"model": model_name, "precision": precision, "batch_size": batch, "variant": args.protocol_variant}
                try:
                    for name in ("stable", "deepgap"):
                        stats, _, _ = time_variant(b, x, timing, name, settings)
                        row[f"{name}_images_per_s"] = stats.throughput_ips(batch)
                        row[f"{name}_p50_ms"] = stats.median_ms
                        row[f"{name}_iterations"] = stats.iterations
                        row[f"{name}_spread"] = stats.spread
                    row["deepgap_over_stable"] = row["deepgap_images_per_s"] / row["stable_images_per_s"]
                    row["within_5pct"] = abs(row["deepgap_over_stable"] - 1) <= 0.05
                    row["status"] = "ok"
                except Exception as exc:
                    row.update(status="error", reason=f"{type(exc).__name__}: {str(exc)[:300]}")
                rows.append(row)
                log.info("%s", row)
                (out_dir / "protocols.json").write_text(json.dumps(rows, indent=1, default=str))
            b.close()
    return rows


def print_speed(rows: list[dict]) -> None:
    print(f"{'precision':<9} {'variant':<14} {'batch':>6} {'images/s':>10} {'p50 ms':>9} {'rel err':>8} "
          f"{'build s':>8}  status")
    for r in rows:
        build_s = r.get("compile_s", r.get("graph_capture_s"))
        print(f"{r.get('precision', ''):<9} {r.get('variant', ''):<14} {r.get('batch_size', ''):>6} "
              f"{r.get('images_per_s', float('nan')):>10.1f} {r.get('latency_ms_p50', float('nan')):>9.3f} "
              f"{r.get('rel_err_vs_fp32', float('nan')):>8.2g} {build_s if build_s is not None else float('nan'):>8.1f}  "
              f"{r.get('status')} {r.get('reason', '')[:80]}")


def print_protocols(rows: list[dict]) -> None:
    print(f"{'model':<9} {'prec':<5} {'batch':>5} {'stable ips':>11} {'deepgap ips':>12} {'ratio':>6}  within 5%")
    for r in rows:
        if r.get("status") != "ok":
            print(f"{r['model']:<9} {r['precision']:<5} {r['batch_size']:>5}  {r.get('reason', '')}")
            continue
        print(f"{r['model']:<9} {r['precision']:<5} {r['batch_size']:>5} {r['stable_images_per_s']:>11.1f} "
              f"{r['deepgap_images_per_s']:>12.1f} {r['deepgap_over_stable']:>6.3f}  {r['within_5pct']}")


def parse(argv=None) -> argparse.Namespace:
    import torch

    cuda = torch.cuda.is_available()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=["speed", "protocols", "both"], default="speed")
    ap.add_argument("--out", required=True, help="directory for the JSON, the profile and the log")
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--precisions", nargs="+", default=["fp16", "bf16"] if cuda else ["fp32"])
    ap.add_argument("--variants", type=lambda s: s.split(","), default=None, help=f"comma list of {list(VARIANTS)}")
    ap.add_argument("--batches", type=int, nargs="+", default=[256, 512, 1024, 2048] if cuda else [2, 4])
    ap.add_argument("--image-size", type=int, default=224 if cuda else 32)
    ap.add_argument("--warmup", type=int, default=20 if cuda else 2)
    ap.add_argument("--min-iterations", type=int, default=50 if cuda else 3)
    ap.add_argument("--max-iterations", type=int, default=1000 if cuda else 20)
    ap.add_argument("--time-budget-s", type=float, default=10.0 if cuda else 1.0)
    ap.add_argument("--min-duration-s", type=float, default=2.0 if cuda else 0.0)
    ap.add_argument("--budget-s", type=float, default=480.0, help="skip the remaining points after this many seconds")
    ap.add_argument("--profile-iterations", type=int, default=10 if cuda else 2)
    ap.add_argument("--top-kernels", type=int, default=15)
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--models", nargs="+", default=["resnet18", "resnet50"] if cuda else ["resnet18"])
    ap.add_argument("--protocol-precisions", nargs="+", default=["fp32", "fp16"] if cuda else ["fp32"])
    ap.add_argument("--protocol-batches", type=int, nargs="+",
                    default=[1, 2, 4, 8, 16, 32, 64, 128, 256, 512] if cuda else [1, 2])
    ap.add_argument("--protocol-variant", default="eager", choices=list(VARIANTS))
    ap.add_argument("--deepgap-warmup", type=int, default=20)
    ap.add_argument("--deepgap-iterations", type=int, default=100)
    ap.add_argument("--deepgap-repeats", type=int, default=3)
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        handlers=[logging.StreamHandler(), logging.FileHandler(out_dir / "bench_gpu_speed.log")])
    import torch

    cuda = torch.cuda.is_available()
    device = DeviceSpec(name="gpu" if cuda else "cpu", kind="cuda" if cuda else "cpu", gpus=1 if cuda else 0,
                        cpus=max(1, torch.get_num_threads()))
    env = collect_env(device.kind)
    (out_dir / "env.json").write_text(json.dumps({"args": vars(args), "env": env}, indent=1, default=str))
    print(f"device: {env.get('gpu_name') or env.get('cpu_model')}  torch {env.get('torch_version')}")
    if args.mode in ("speed", "both"):
        rows = speed(args, device, out_dir)
        print_speed(rows)
        if not args.no_profile:
            prof = profile_best(args, device, rows, out_dir)
            print(f"\nprofile of the fastest variant: {json.dumps({k: v for k, v in prof.items() if k != 'top'})}")
            for k in prof.get("top", []):
                print(f"  {k['share'] * 100:5.1f}%  {k['ms']:9.3f} ms  x{k['calls']:<5} {k['name'][:100]}")
    if args.mode in ("protocols", "both"):
        rows = protocols(args, device, out_dir)
        print()
        print_protocols(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
