"""What a result ran on: GPU identity, driver, CUDA, cuDNN, library versions, CPU, threads.

Library versions come from package metadata, so collecting them imports nothing heavy;
GPU facts come from torch (already loaded by a GPU backend) and NVML when present.
`verify_device` compares the GPU found with the one a device entry names.
"""
from __future__ import annotations

import os
import platform
import socket
import sys
import time
import uuid
from importlib import metadata

from ..text import has_word
from .errors import DeviceMismatchError

LIBRARIES = {"torch": "torch", "torchvision": "torchvision", "onnx": "onnx", "onnxruntime": "onnxruntime",
             "onnxruntime_gpu": "onnxruntime-gpu", "tensorrt": "tensorrt", "nvidia_ml_py": "nvidia-ml-py",
             "numpy": "numpy"}


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a benchmark may use ('' when absent)."""
    out = {}
    for key, dist in LIBRARIES.items():
        try:
            out[f"{key}_version"] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[f"{key}_version"] = ""
    return out


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, else platform.processor()."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# CPU features that decide how fast INT8/BF16 kernels can be (VNNI dot products, AMX tiles).
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx_vnni",
             "amx_tile", "amx_int8", "amx_bf16", "amx_fp16", "asimddp", "i8mm", "bf16", "sve")


def cpu_isa(cpuinfo: str = "/proc/cpuinfo") -> dict:
    """Which of ISA_FLAGS the CPU reports, as {'isa_<flag>': bool} plus 'cpu_isa' (the present ones, comma-joined)."""
    flags: set[str] = set()
    try:
        with open(cpuinfo, encoding="utf-8") as fh:
            for line in fh:
                # x86 says "flags", Arm says "Features"
                if line.lower().startswith(("flags", "features")):
                    flags.update(line.split(":", 1)[1].split())
                    break
    except OSError:
        return {"cpu_isa": "", "cpu_isa_note": f"{cpuinfo} is not readable"}
    present = [f for f in ISA_FLAGS if f in flags]
    return {"cpu_isa": ",".join(present), **{f"isa_{f}": f in flags for f in ISA_FLAGS}}


def _nvml_facts(uuid: str) -> dict:
    """Driver version and the GPU's NVML name/UUID; empty when NVML is missing."""
    from .nvml import open_handle  # lazy: NVML is optional

    try:
        pynvml, handle = open_handle(uuid)
    except Exception:  # NVML absent or no device: the torch facts stand alone
        return {}
    facts = {}
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        facts["driver_version"] = driver.decode() if isinstance(driver, bytes) else str(driver)
        name = pynvml.nvmlDeviceGetName(handle)
        facts["nvml_gpu_name"] = name.decode() if isinstance(name, bytes) else str(name)
        nvml_uuid = pynvml.nvmlDeviceGetUUID(handle)
        facts["gpu_uuid"] = nvml_uuid.decode() if isinstance(nvml_uuid, bytes) else str(nvml_uuid)
    except Exception as exc:  # some queries are unsupported on some GPUs; say so
        facts["nvml_error"] = str(exc)
    return facts


def gpu_identity(index: int = 0) -> dict:
    """Name, UUID, memory, compute capability and driver of the visible CUDA device `index`."""
    try:
        import torch
    except ImportError:
        return {"gpu_name": "", "gpu_error": "torch is not installed"}
    if not torch.cuda.is_available():
        return {"gpu_name": "", "gpu_error": "no CUDA GPU is visible to torch"}
    props = torch.cuda.get_device_properties(index)
    uuid = str(getattr(props, "uuid", "") or "")
    if uuid and not uuid.startswith("GPU-"):
        uuid = f"GPU-{uuid}"
    facts = {"gpu_name": props.name, "gpu_uuid": uuid, "gpu_memory_mb": round(props.total_memory / 2**20, 1),
             "gpu_capability": f"{props.major}.{props.minor}", "gpu_multiprocessors": props.multi_processor_count,
             "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES", "")}
    facts.update(_nvml_facts(uuid))
    return facts


def torch_build() -> dict:
    """CUDA and cuDNN versions torch was built with (empty when torch is absent)."""
    try:
        import torch
    except ImportError:
        return {}
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {"cuda_version": torch.version.cuda or "", "cudnn_version": str(cudnn or ""),
            "torch_threads": torch.get_num_threads()}


def collect_env(kind: str = "cpu", config_hash: str = "") -> dict:
    """Everything a result row needs to say where it ran; GPU facts only for kind 'cuda'."""
    # run_id and measured_at name this measurement: its rows are origin `run`, never a reference file's
    env = {"hostname": socket.gethostname(), "python_version": sys.version.split()[0],
           "platform": platform.platform(), "cpu_model": cpu_model(), "cpu_count": os.cpu_count() or 0,
           "config_hash": config_hash, "run_id": uuid.uuid4().hex[:12],
           "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    env.update(cpu_isa())
    env.update(library_versions())
    env.update(torch_build())
    if kind == "cuda":
        env.update(gpu_identity())
    else:
        env["gpu_name"] = ""
    return env


def hardware_of(env: dict, gpu_name: str = "") -> dict:
    """What a row ran on, from the environment record (never the device entry's name): the GPU's NVML
    (else torch) name when a GPU ran it, otherwise the CPU model string and its core count."""
    gpu = gpu_name or env.get("gpu_name") or env.get("nvml_gpu_name") or ""
    if gpu:
        return {"hardware": str(gpu), "hardware_kind": "gpu"}
    cores = env.get("cpu_count")
    return {"hardware": str(env.get("cpu_model") or ""), "hardware_kind": "cpu" if env.get("cpu_model") else "",
            "hardware_cores": int(cores) if cores else None}


def verify_device(device: str, expected_gpu: str, reported_gpu: str | None,
                  allow_mismatch: bool) -> str:
    """For a CUDA device entry: '' when the GPU found matches; else the reason (allow_mismatch) or DeviceMismatchError."""
    # whole words only: an "L4" entry must not pass on an "NVIDIA L40S", nor "A10" on an "A100"
    if reported_gpu and (not expected_gpu or has_word(reported_gpu, expected_gpu)):
        return ""
    found = f"found {reported_gpu!r}" if reported_gpu else "found no CUDA GPU"
    wanted = f"a GPU whose name contains {expected_gpu!r}" if expected_gpu else "a CUDA GPU"
    reason = f"device '{device}' must be {wanted}, {found}"
    if allow_mismatch:
        return reason
    raise DeviceMismatchError(
        f"{reason}. Run this job on the right machine (check the Slurm partition/GPU model of "
        f"devices.{device}), or set devices.{device}.allow_mismatch: true to record the rows as 'mismatch'")
