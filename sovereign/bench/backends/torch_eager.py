"""PyTorch eager execution at FP32, TF32, FP16 or BF16, optionally channels-last."""
from __future__ import annotations

import copy

from ..config import BACKEND_PRECISIONS
from ..errors import BackendUnavailable
from .base import Backend


def import_torch():
    """Import torch or say it is missing."""
    try:
        import torch
    except ImportError as exc:
        raise BackendUnavailable(f"torch is not installed ({exc})") from None
    return torch


def set_tf32(torch, enabled: bool) -> None:
    """Allow or forbid TF32 tensor-core maths for FP32 matmuls and convolutions."""
    torch.backends.cuda.matmul.allow_tf32 = enabled
    torch.backends.cudnn.allow_tf32 = enabled


class TorchEagerBackend(Backend):
    """The torchvision model run op by op; the precision sets the weights' and inputs' dtype."""

    NAME = "torch_eager"
    PRECISIONS = BACKEND_PRECISIONS["torch_eager"]

    def _setup(self):
        torch = self.torch = import_torch()
        ctx = self.ctx
        if ctx.device.kind == "cuda":
            if not torch.cuda.is_available():
                raise BackendUnavailable("torch sees no CUDA GPU")
            self.dev = torch.device("cuda", 0)
            torch.backends.cudnn.benchmark = True  # autotuned during warm-up, per input shape
            set_tf32(torch, ctx.precision == "tf32")
        else:
            if ctx.precision == "tf32":
                raise BackendUnavailable("tf32 is a CUDA tensor-core mode; a CPU has none")
            self.dev = torch.device("cpu")
            torch.set_num_threads(ctx.device.cpus)  # the device entry's cores, as ONNX Runtime gets
        self.dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(ctx.precision, torch.float32)
        self.memory_format = torch.channels_last if ctx.channels_last else torch.contiguous_format
        model = copy.deepcopy(ctx.model).eval().to(self.dev, dtype=self.dtype, memory_format=self.memory_format)
        self.info = {"memory_format": "channels_last" if ctx.channels_last else "nchw",
                     "tf32": ctx.device.kind == "cuda" and ctx.precision == "tf32",
                     "cudnn_benchmark": ctx.device.kind == "cuda", "torch_threads_used": torch.get_num_threads()}
        return model

    def load(self) -> None:
        self.model = self._setup()
        self.fn = self.model
        self.graphs = None
        if self.ctx.cuda_graphs:
            from .cuda_graph import GraphRunner  # lazy: torch.cuda only when asked for

            self.graphs = GraphRunner(self.model, self.ctx.device.kind)
        self.info["cuda_graphs"] = self.graphs is not None

    @property
    def stream(self):
        return self.graphs.stream if getattr(self, "graphs", None) is not None else None

    def build_for(self, inputs) -> dict:
        """With CUDA graphs: capture this shape's graph (on the own stream) before timing."""
        return self.graphs.capture(inputs) if getattr(self, "graphs", None) is not None else {}

    def to_numpy(self, output):
        if self.stream is not None:
            self.stream.synchronize()  # the graph wrote its output on its own stream, not the default one
        return super().to_numpy(output)

    def prepare(self, host_batch):
        return host_batch.to(self.dev, dtype=self.dtype, memory_format=self.memory_format, non_blocking=False)

    def run(self, inputs):
        if self.graphs is not None:
            return self.graphs.replay(inputs)
        with self.torch.no_grad():
            return self.fn(inputs)

    def reset_peak_memory(self) -> None:
        if self.dev.type == "cuda":
            self.torch.cuda.synchronize()
            self.torch.cuda.reset_peak_memory_stats()

    def peak_memory_mb(self) -> float | None:
        if self.dev.type != "cuda":
            return None
        return self.torch.cuda.max_memory_allocated() / 2**20

    def recover(self) -> None:
        if self.dev.type == "cuda":
            self.torch.cuda.empty_cache()

    def close(self) -> None:
        self.model = self.fn = None
        self.recover()
