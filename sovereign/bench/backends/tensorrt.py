"""TensorRT 10: FP32 (TF32 off), TF32, FP16, and INT8 from a QDQ ONNX model; engines cached on disk.

INT8 uses explicit quantisation: the same FP32 ONNX export and the same seeded synthetic
calibration data as ONNX Runtime's INT8, but symmetric signed activations, because
TensorRT accepts only zero-point-0 INT8 scales. Buffers are torch CUDA tensors and the
engine runs on its own CUDA stream (not torch's default stream, which would add
synchronisation with everything else queued there); the tracker records its CUDA events
on that stream.
"""
from __future__ import annotations

import hashlib
import logging

from ..config import BACKEND_PRECISIONS
from ..errors import BackendUnavailable
from ...io import atomic_path
from ..onnx_export import model_files
from .base import Backend

log = logging.getLogger(__name__)


def import_tensorrt():
    """Import tensorrt or say why it cannot be used."""
    try:
        import tensorrt as trt
    except (ImportError, OSError) as exc:  # OSError: the pip package is there but its libnvinfer is not
        raise BackendUnavailable(f"TensorRT is not installed ({exc}); install the tensorrt package "
                                 "from NVIDIA on a GPU host to measure this backend") from None
    if int(trt.__version__.split(".")[0]) < 10:
        raise BackendUnavailable(f"TensorRT {trt.__version__} found; this backend needs TensorRT 10 or newer")
    return trt


class TensorRTBackend(Backend):
    """An engine built from ONNX with one optimisation profile covering batch 1..max_batch."""

    NAME = "tensorrt"
    PRECISIONS = BACKEND_PRECISIONS["tensorrt"]
    WORKSPACE_MB = 4096

    def _engine_path(self, onnx_path, gpu_name: str):
        trt, ctx = self.trt, self.ctx
        key = hashlib.sha256(onnx_path.read_bytes()).hexdigest()[:12]
        tag = f"{ctx.model_name}__{ctx.precision}__{key}__b{ctx.max_batch}__trt{trt.__version__}__{gpu_name}"
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in tag)
        return ctx.cache_dir / "tensorrt" / f"{safe}.engine"

    def _build(self, onnx_path) -> bytes:
        trt, ctx = self.trt, self.ctx
        builder = trt.Builder(self.logger)
        network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
        parser = trt.OnnxParser(network, self.logger)
        if not parser.parse(onnx_path.read_bytes()):
            errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise RuntimeError(f"TensorRT could not parse {onnx_path.name}: {errors}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, self.WORKSPACE_MB << 20)
        if ctx.precision == "fp32":
            config.clear_flag(trt.BuilderFlag.TF32)  # TensorRT allows TF32 by default: not FP32
        if ctx.precision in ("fp16", "int8"):
            config.set_flag(trt.BuilderFlag.FP16)
        if ctx.precision == "int8":
            config.set_flag(trt.BuilderFlag.INT8)  # the QDQ nodes carry the scales
        profile = builder.create_optimization_profile()
        name = network.get_input(0).name
        opt = min(32, ctx.max_batch)  # DEEP-GAP tuned its profile at batch 32
        profile.set_shape(name, (1, 3, 224, 224), (opt, 3, 224, 224), (ctx.max_batch, 3, 224, 224))
        config.add_optimization_profile(profile)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise RuntimeError("TensorRT failed to build the engine (see the log above)")
        return bytes(serialized)

    def load(self) -> None:
        trt = self.trt = import_tensorrt()
        if self.ctx.device.kind != "cuda":
            raise BackendUnavailable("TensorRT needs a CUDA GPU; this device is a CPU")
        import torch

        if not torch.cuda.is_available():
            raise BackendUnavailable("torch sees no CUDA GPU for TensorRT's buffers")
        self.torch = torch
        self.logger = trt.Logger(trt.Logger.WARNING)
        onnx_path, note = model_files(self.ctx, "s8s8_symmetric" if self.ctx.precision == "int8" else None)
        engine_path = self._engine_path(onnx_path, torch.cuda.get_device_name(0))
        cached = engine_path.exists()
        if not cached:
            blob = self._build(onnx_path)
            with atomic_path(engine_path, suffix=".engine") as tmp:
                tmp.write_bytes(blob)
        self.runtime = trt.Runtime(self.logger)
        self.engine = self.runtime.deserialize_cuda_engine(engine_path.read_bytes())
        if self.engine is None:
            raise RuntimeError(f"TensorRT could not load {engine_path}; delete it to rebuild")
        self.context = self.engine.create_execution_context()
        self._stream = torch.cuda.Stream()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.outputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        self.info = {"engine_file": engine_path.name, "engine_cached": cached, "calibration": note,
                     "tensorrt_version": trt.__version__, "onnx_file": onnx_path.name}

    @property
    def timer(self) -> str:
        return "cuda"

    def prepare(self, host_batch):
        torch = self.torch
        x = host_batch.to("cuda", dtype=torch.float32).contiguous()
        self.context.set_input_shape(self.inputs[0], tuple(x.shape))
        self.context.set_tensor_address(self.inputs[0], x.data_ptr())
        out_shape = tuple(self.context.get_tensor_shape(self.outputs[0]))
        out = torch.empty(out_shape, dtype=torch.float32, device="cuda")
        self.context.set_tensor_address(self.outputs[0], out.data_ptr())
        return (x, out)

    @property
    def stream(self):
        return self._stream

    def run(self, inputs):
        _, out = inputs
        self._stream.wait_stream(self.torch.cuda.current_stream())  # inputs were copied on the default stream
        if not self.context.execute_async_v3(self._stream.cuda_stream):
            raise RuntimeError("TensorRT execute_async_v3 failed")
        return out

    def to_numpy(self, output):
        self._stream.synchronize()  # the engine wrote `output` on its own stream; the copy runs on the default one
        return super().to_numpy(output)

    def reset_peak_memory(self) -> None:
        self.torch.cuda.synchronize()
        self.torch.cuda.reset_peak_memory_stats()

    def peak_memory_mb(self) -> float | None:
        # Buffers through torch; TensorRT's own activation memory is reported beside it.
        trt_bytes = getattr(self.engine, "device_memory_size_v2", None) or getattr(self.engine, "device_memory_size", 0)
        return (self.torch.cuda.max_memory_allocated() + trt_bytes) / 2**20

    def recover(self) -> None:
        self.torch.cuda.empty_cache()

    def close(self) -> None:
        self.context = self.engine = self.runtime = None
