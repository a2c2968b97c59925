"""ONNX Runtime: FP32, and INT8 from a QDQ model made with quantize_static (QUInt8 activations, QInt8 weights).

The session is built with the execution providers asked for; if `session.get_providers()`
does not include every one of them, ONNX Runtime fell back silently (e.g. CUDA -> CPU)
and the backend refuses to measure, so a CPU number is never labelled as a GPU one.
Under a GPU provider a session can also keep single nodes on the CPU provider (no kernel
for that op or type); one profiled run shows where each node ran, and a compute node on
the CPU is refused the same way (shape bookkeeping on the CPU is recorded, not refused).
"""
from __future__ import annotations

import json
from pathlib import Path

from ..config import BACKEND_PRECISIONS
from ..errors import BackendUnavailable
from ..onnx_export import model_files, quant_settings
from .base import Backend

CPU, CUDA = "CPUExecutionProvider", "CUDAExecutionProvider"
# ops whose placement on the CPU provider makes a "GPU" number a CPU one
COMPUTE_OPS = {"Conv", "FusedConv", "QLinearConv", "ConvInteger", "MatMul", "MatMulInteger", "QLinearMatMul", "Gemm",
               "FusedGemm", "BatchNormalization", "MaxPool", "AveragePool", "GlobalAveragePool", "Relu", "Add",
               "QLinearAdd", "QuantizeLinear", "DequantizeLinear", "Softmax"}


def _profile_nodes(profile_path) -> list[tuple[str, str, str]]:
    """(node name, op, provider) of every node an ONNX Runtime profile (end_profiling's JSON) timed."""
    events = json.loads(Path(profile_path).read_text())
    out = []
    for e in events:
        args = e.get("args") or {}
        name = str(e.get("name", ""))
        if e.get("cat") == "Node" and name.endswith("_kernel_time") and args.get("provider"):
            out.append((name[: -len("_kernel_time")], str(args.get("op_name", "")), str(args["provider"])))
    return out


def node_providers(profile_path) -> dict[str, str]:
    """Node name -> the execution provider it ran on, from an ONNX Runtime profile."""
    return {name: provider for name, _, provider in _profile_nodes(profile_path)}


def node_fallback(asked: list[str], placed: dict[str, str]) -> str:
    """'' when every node ran on a provider other than the CPU, or the CPU was the only one asked; else the note
    naming the nodes the session kept on the CPU provider."""
    if all(p == CPU for p in asked):
        return ""
    on_cpu = sorted(n for n, p in placed.items() if p == CPU)
    if not on_cpu:
        return ""
    shown = ", ".join(on_cpu[:8]) + (f" and {len(on_cpu) - 8} more" if len(on_cpu) > 8 else "")
    return f"node-level fallback: {len(on_cpu)} of {len(placed)} nodes ran on {CPU} ({shown}) though {asked} was asked"


class OnnxRuntimeBackend(Backend):
    """An InferenceSession on the providers the device implies (or the ones configured)."""

    NAME = "onnxruntime"
    PRECISIONS = BACKEND_PRECISIONS["onnxruntime"]

    def asked_providers(self) -> list[str]:
        """Providers to ask for: the configured list, else CUDA on a GPU device and CPU on a CPU one."""
        if self.ctx.ort_providers:
            return list(self.ctx.ort_providers)
        return [CUDA] if self.ctx.device.kind == "cuda" else [CPU]

    def load(self) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendUnavailable(f"onnxruntime is not installed ({exc})") from None
        self.ort = ort
        int8 = self.ctx.precision == "int8"
        path, note = model_files(self.ctx, "u8s8" if int8 else None)
        asked = self.asked_providers()
        opts = ort.SessionOptions()
        # All graph rewrites (QDQ -> QLinearConv/QLinearMatMul fusion needs ENABLE_EXTENDED at least).
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL  # a CNN is a chain: parallel mode only adds threads
        opts.intra_op_num_threads = self.ctx.device.cpus  # the device entry's cores, no more (shared hosts)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts, providers=asked)
        except Exception as exc:  # ORT refuses providers it cannot create: that is "unavailable"
            raise BackendUnavailable(f"onnxruntime refused providers {asked}: {type(exc).__name__}: {exc}") from None
        got = self.session.get_providers()
        self.info = {"providers_asked": ",".join(asked), "providers_used": ",".join(got),
                     "onnx_file": path.name, "calibration": note, "ort_threads": self.ctx.device.cpus,
                     "ort_graph_optimization": "ORT_ENABLE_ALL", "ort_execution_mode": "sequential",
                     **(quant_settings("u8s8", self.ctx.int8_per_channel) if int8 else {})}
        missing = [p for p in asked if p not in got]
        if missing:
            raise BackendUnavailable(f"silent fallback: asked onnxruntime for {asked}, the session uses {got} "
                                     f"(available here: {ort.get_available_providers()})")
        self.input_name = self.session.get_inputs()[0].name
        self.on_gpu = any(p != CPU for p in asked)
        if self.on_gpu:
            self._check_node_placement(ort, path, opts, asked)
        self.binding = None

    def _check_node_placement(self, ort, path, opts, asked: list[str]) -> None:
        """Profile one run of a twin session and refuse to measure when a compute node ran on the CPU provider."""
        import numpy as np

        prof = ort.SessionOptions()
        prof.graph_optimization_level, prof.execution_mode = opts.graph_optimization_level, opts.execution_mode
        prof.intra_op_num_threads, prof.inter_op_num_threads = opts.intra_op_num_threads, 1
        prof.log_severity_level = 3
        prof.enable_profiling = True
        prof.profile_file_prefix = str(Path(self.ctx.cache_dir) / "ort_placement")
        twin = ort.InferenceSession(str(path), sess_options=prof, providers=asked)
        twin.run(None, {self.input_name: np.zeros((1, 3, 224, 224), dtype=np.float32)})
        profile = Path(twin.end_profiling())
        try:
            nodes = _profile_nodes(profile)
        finally:
            profile.unlink(missing_ok=True)
        placed = {n: p for n, _, p in nodes}
        note = node_fallback(asked, placed)
        heavy = sorted(n for n, op, p in nodes if p == CPU and op in COMPUTE_OPS)
        self.info["ort_cpu_nodes"] = sum(p == CPU for p in placed.values())
        self.info["ort_node_placement_note"] = note
        if heavy:
            raise BackendUnavailable(f"{note}; compute nodes on the CPU: {', '.join(heavy[:8])}")

    @property
    def timer(self) -> str:
        # Session.run returns after the device finished, so the host clock times it (any provider).
        return "cpu"

    def prepare(self, host_batch):
        x = host_batch.numpy() if hasattr(host_batch, "numpy") else host_batch
        if not self.on_gpu:
            return x
        # Host-to-device copy done here, outside the timed run, through IO binding.
        value = self.ort.OrtValue.ortvalue_from_numpy(x, "cuda", 0)
        binding = self.session.io_binding()
        binding.bind_ortvalue_input(self.input_name, value)
        binding.bind_output("logits", "cuda", 0)
        return (binding, value)

    def run(self, inputs):
        if isinstance(inputs, tuple):
            binding, _ = inputs
            self.session.run_with_iobinding(binding)
            return binding
        return self.session.run(None, {self.input_name: inputs})[0]

    def to_numpy(self, output):
        if hasattr(output, "copy_outputs_to_cpu"):
            output = output.copy_outputs_to_cpu()[0]
        return super().to_numpy(output)

    def close(self) -> None:
        self.session = None
