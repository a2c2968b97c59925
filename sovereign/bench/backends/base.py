"""The interface every benchmark backend implements, and the context it is built from."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from ..config import DeviceSpec
from ..errors import BackendUnavailable


@dataclass
class BackendContext:
    """Everything a backend needs to build one model at one precision on one device."""

    device: DeviceSpec
    model_name: str
    precision: str
    model: object  # the seeded FP32 torch module on the CPU, in eval mode
    cache_dir: Path = Path("results/bench/cache")
    seed: int = 0
    channels_last: bool = False
    compile_mode: str = "default"
    max_batch: int = 512
    calibration_batches: int = 4
    calibration_batch_size: int = 8
    ort_providers: list = field(default_factory=list)
    weights_id: str = "random"
    int8_per_channel: bool = False
    cuda_graphs: bool = False


class Backend(ABC):
    """One way of running a model: build it once (`load`), then run batches (`run`)."""

    NAME: str = ""
    PRECISIONS: tuple = ()

    def __init__(self, ctx: BackendContext):
        self.ctx = ctx
        if ctx.precision not in self.PRECISIONS:
            raise BackendUnavailable(f"{self.NAME} has no precision {ctx.precision!r} (it has {list(self.PRECISIONS)})")
        self.info: dict = {}

    @property
    def timer(self) -> str:
        """The clock that times this backend: 'cuda' events or 'cpu' perf_counter."""
        return "cuda" if self.ctx.device.kind == "cuda" else "cpu"

    @abstractmethod
    def load(self) -> None:
        """Build the model/engine/session; raise BackendUnavailable with a reason when it cannot run here."""

    @abstractmethod
    def run(self, inputs):
        """Run one batch already prepared by `prepare`; return the backend's output."""

    def prepare(self, host_batch):
        """Turn a host FP32 torch batch into this backend's input (on the device when it has one)."""
        return host_batch

    def to_numpy(self, output):
        """The output as an FP32 numpy array on the host."""
        import numpy as np

        if hasattr(output, "detach"):
            return output.detach().float().cpu().numpy()
        return np.asarray(output, dtype=np.float32)

    @property
    def stream(self):
        """The CUDA stream the backend's work runs on (None: torch's current stream)."""
        return None

    def build_for(self, inputs) -> dict:
        """Build whatever is specific to this input shape (a compiled graph, a captured CUDA graph) before timing;
        return facts about it for the row."""
        return {}

    def reset_peak_memory(self) -> None:
        """Start a new peak-memory window (GPU backends)."""

    def peak_memory_mb(self) -> float | None:
        """Peak device memory since the last reset, in MB (None where not measurable)."""
        return None

    def recover(self) -> None:
        """Free what a failed (e.g. out-of-memory) batch left behind."""

    def close(self) -> None:
        """Release the model, session or engine."""
