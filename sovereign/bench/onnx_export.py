"""ONNX files for the ONNX Runtime and TensorRT backends: FP32 export and INT8 QDQ quantisation, cached on disk.

Calibration data is synthetic (seeded standard-normal images), which the rows say: an
INT8 model calibrated this way is a speed measurement, its accuracy is not ImageNet's.
"""
from __future__ import annotations

import logging
from pathlib import Path

from ..io import atomic_path
from .errors import BackendUnavailable

log = logging.getLogger(__name__)

# ONNX Runtime on CPU is fast with unsigned activations; TensorRT accepts only symmetric signed INT8.
QUANT_SCHEMES = {"u8s8": ("QUInt8", "QInt8", False), "s8s8_symmetric": ("QInt8", "QInt8", True)}
# How the INT8 files are made, recorded in every INT8 row (quant_* columns).
QUANT_FORMAT, CALIBRATION_METHOD = "QDQ", "MinMax"


def export_fp32(model, path: Path, opset: int = 17) -> Path:
    """Export the FP32 torch model with a dynamic batch axis (one file, TorchScript exporter)."""
    if path.exists():
        return path
    try:
        import torch
    except ImportError as exc:
        raise BackendUnavailable(f"torch is needed to export ONNX ({exc})") from None
    log.info("exporting %s", path)
    with atomic_path(path, suffix=".onnx") as tmp, torch.no_grad():
        torch.onnx.export(model.eval(), torch.zeros(1, 3, 224, 224), str(tmp), dynamo=False,
                          input_names=["input"], output_names=["logits"], opset_version=opset,
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    return path


def calibration_note(batches: int, batch_size: int, seed: int, scheme: str, per_channel: bool = False) -> str:
    """How the INT8 model was calibrated, stated in every INT8 row."""
    act, weight, sym = QUANT_SCHEMES[scheme]
    return (f"synthetic calibration: {batches} batches x {batch_size} seeded N(0,1) images (seed {seed}), "
            f"{CALIBRATION_METHOD}, {QUANT_FORMAT}, activations {act}{' symmetric' if sym else ''}, weights {weight}"
            f"{' per-channel' if per_channel else ' per-tensor'}, quant_pre_process")


def quant_settings(scheme: str, per_channel: bool) -> dict:
    """The quantisation settings as row columns (so a reader can redo the file)."""
    act, weight, sym = QUANT_SCHEMES[scheme]
    return {"quant_format": QUANT_FORMAT, "quant_activation_type": act, "quant_weight_type": weight,
            "quant_activation_symmetric": sym, "quant_per_channel": per_channel, "quant_reduce_range": False,
            "quant_calibration_method": CALIBRATION_METHOD, "quant_pre_process": True}


def pre_process(fp32_path: Path, path: Path) -> Path:
    """ONNX Runtime's quantisation pre-processing (symbolic shapes, graph optimisation) of the FP32 file."""
    if path.exists():
        return path
    try:
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as exc:
        raise BackendUnavailable(f"onnxruntime.quantization is not installed ({exc})") from None
    # Without it quantize_static places QDQ pairs around unfused Conv+BN/Relu chains, and the CPU
    # provider then runs many small (de)quantise kernels: the INT8 model was slower than FP32.
    with atomic_path(path, suffix=".onnx") as tmp:
        quant_pre_process(str(fp32_path), str(tmp), skip_symbolic_shape=False)
    return path


def quantize_int8(fp32_path: Path, path: Path, batches: int, batch_size: int, seed: int,
                  scheme: str = "u8s8", per_channel: bool = False) -> Path:
    """Static INT8 QDQ quantisation of the pre-processed `fp32_path`, calibrated on seeded synthetic images."""
    if path.exists():
        return path
    try:
        import numpy as np
        from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                              quantize_static)
    except ImportError as exc:
        raise BackendUnavailable(f"onnxruntime.quantization is not installed ({exc})") from None
    act, weight, symmetric = QUANT_SCHEMES[scheme]
    prepped = pre_process(fp32_path, fp32_path.with_name(fp32_path.stem + "__prep.onnx"))

    class SyntheticReader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(seed)
            self._it = iter([{"input": rng.standard_normal((batch_size, 3, 224, 224), dtype=np.float32)}
                             for _ in range(batches)])

        def get_next(self):
            return next(self._it, None)

    log.info("quantizing %s (%s)", path, calibration_note(batches, batch_size, seed, scheme, per_channel))
    with atomic_path(path, suffix=".onnx") as tmp:
        quantize_static(str(prepped), str(tmp), SyntheticReader(), quant_format=QuantFormat.QDQ, per_channel=per_channel,
                        activation_type=getattr(QuantType, act), weight_type=getattr(QuantType, weight),
                        extra_options={"ActivationSymmetric": symmetric, "WeightSymmetric": True})
    return path


def onnx_paths(cache_dir: Path, model_name: str, seed: int, weights_id: str,
               batches: int, batch_size: int) -> dict[str, Path]:
    """Where the FP32 and INT8 files of one model live in the cache (names carry what made them)."""
    stem = Path(cache_dir) / "onnx" / f"{model_name}__{weights_id}__seed{seed}"
    calib = f"c{batches}x{batch_size}"
    # "pp" marks files made after quant_pre_process, so stale caches of the slow files are not reused.
    return {"fp32": Path(f"{stem}.onnx"), "u8s8": Path(f"{stem}__int8_u8s8_pp_{calib}.onnx"),
            "u8s8_pc": Path(f"{stem}__int8_u8s8_pp_pc_{calib}.onnx"),
            "s8s8_symmetric": Path(f"{stem}__int8_s8s8_pp_{calib}.onnx"),
            "s8s8_symmetric_pc": Path(f"{stem}__int8_s8s8_pp_pc_{calib}.onnx")}


def model_files(ctx, scheme: str | None) -> tuple[Path, str]:
    """The ONNX file a backend runs for `ctx` (exported/quantised on first use) and its calibration note."""
    paths = onnx_paths(ctx.cache_dir, ctx.model_name, ctx.seed, ctx.weights_id,
                       ctx.calibration_batches, ctx.calibration_batch_size)
    fp32 = export_fp32(ctx.model, paths["fp32"])
    if scheme is None:
        return fp32, ""
    per_channel = bool(getattr(ctx, "int8_per_channel", False))
    note = calibration_note(ctx.calibration_batches, ctx.calibration_batch_size, ctx.seed, scheme, per_channel)
    target = paths[f"{scheme}_pc" if per_channel else scheme]
    return quantize_int8(fp32, target, ctx.calibration_batches, ctx.calibration_batch_size,
                         ctx.seed, scheme, per_channel), note
