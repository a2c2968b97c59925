"""ONNX Runtime FP32 against INT8 on this CPU, side by side in one process, through the harness's own files.

The INT8 variants are the harness's QDQ files (QUInt8 activations, QInt8 weights, after
quant_pre_process), per-tensor and per-channel weights, plus the file made without
pre-processing (the old recipe) for comparison. All sessions run with the backend's own
session options; the variants alternate over several trials so load from other processes
on a shared machine hits all of them alike. Prints the CPU's ISA flags that matter for INT8.

    PYTHONPATH=. python3 benchmarks/bench_ort_int8.py --batch 1 8 --trials 5
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sovereign.bench.env import cpu_isa, cpu_model  # noqa: E402
from sovereign.bench.models import build_model, synthetic_batch  # noqa: E402
from sovereign.bench.onnx_export import export_fp32, pre_process, quantize_int8  # noqa: E402


def old_recipe(fp32: Path, path: Path, seed: int) -> Path:
    """The INT8 file as it was made before: quantize_static on the raw export (no pre-processing)."""
    import numpy as np
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(seed)
            self._it = iter([{"input": rng.standard_normal((8, 3, 224, 224), dtype=np.float32)} for _ in range(4)])

        def get_next(self):
            return next(self._it, None)

    if not path.exists():
        quantize_static(str(fp32), str(path), Reader(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        extra_options={"WeightSymmetric": True})
    return path


def session(path: Path, threads: int):
    """An InferenceSession with the onnxruntime backend's settings."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def median_ms(sess, x, iterations: int, warmup: int) -> float:
    """Median latency of `iterations` runs after `warmup` untimed ones."""
    feed = {"input": x}
    for _ in range(warmup):
        sess.run(None, feed)
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        sess.run(None, feed)
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--trials", type=int, default=5, help="alternating trials per variant and batch")
    ap.add_argument("--iterations", type=int, default=20, help="timed runs per trial")
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads (the machine's cores)")
    ap.add_argument("--cache", default="", help="directory for the ONNX files (default: a temporary one)")
    ap.add_argument("--json", default="", help="also write the results here")
    args = ap.parse_args(argv)

    import numpy as np

    cache = Path(args.cache or tempfile.mkdtemp(prefix="ort-int8-"))
    cache.mkdir(parents=True, exist_ok=True)
    model = build_model(args.model, "", 0)
    fp32 = export_fp32(model, cache / f"{args.model}.onnx")
    files = {"fp32": fp32, "fp32_preprocessed": pre_process(fp32, cache / f"{args.model}__prep.onnx"),
             "int8_old_no_preprocess": old_recipe(fp32, cache / f"{args.model}__int8_old.onnx", 0),
             "int8_per_tensor": quantize_int8(fp32, cache / f"{args.model}__int8_pt.onnx", 4, 8, 0, "u8s8", False),
             "int8_per_channel": quantize_int8(fp32, cache / f"{args.model}__int8_pc.onnx", 4, 8, 0, "u8s8", True)}
    sessions = {k: session(p, args.threads) for k, p in files.items()}
    isa = cpu_isa()
    print(f"CPU: {cpu_model()}  threads: {args.threads}  ISA: {isa['cpu_isa']}")
    results = {}
    for batch in args.batch:
        x = synthetic_batch(batch, 0).numpy()
        ref = sessions["fp32"].run(None, {"input": x})[0]
        per = {k: [] for k in sessions}
        for _ in range(args.trials):
            for name, sess in sessions.items():
                per[name].append(median_ms(sess, x, args.iterations, 3))
        for name, trials in per.items():
            out = sessions[name].run(None, {"input": x})[0]
            med = statistics.median(trials)
            results[f"{name}@{batch}"] = {
                "variant": name, "batch": batch, "median_ms": med, "images_per_s": batch / (med / 1000),
                "trial_ips": [batch / (t / 1000) for t in trials],
                "rel_err_vs_fp32": float(np.max(np.abs(out - ref)) / max(float(np.max(np.abs(ref))), 1e-12))}
        base = results[f"fp32@{batch}"]["images_per_s"]
        print(f"\nbatch {batch}: {'variant':<24} {'img/s':>8} {'x fp32':>7} {'rel err':>8}  trials img/s")
        for name in sessions:
            r = results[f"{name}@{batch}"]
            trials = " ".join(f"{v:.0f}" for v in r["trial_ips"])
            print(f"         {name:<24} {r['images_per_s']:8.1f} {r['images_per_s'] / base:7.2f} "
                  f"{r['rel_err_vs_fp32']:8.4f}  {trials}")
    if args.json:
        Path(args.json).write_text(json.dumps({"cpu": cpu_model(), **isa, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
