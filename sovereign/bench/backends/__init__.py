"""Backends by name: a plain registry; each backend module imports its library only when loaded."""
from __future__ import annotations

import importlib

from ..errors import BenchConfigError

REGISTRY = {
    "torch_eager": ("sovereign.bench.backends.torch_eager", "TorchEagerBackend"),
    "torch_compile": ("sovereign.bench.backends.torch_compile", "TorchCompileBackend"),
    "onnxruntime": ("sovereign.bench.backends.onnxruntime", "OnnxRuntimeBackend"),
    "tensorrt": ("sovereign.bench.backends.tensorrt", "TensorRTBackend"),
}


def get_backend(name: str):
    """The Backend class registered under `name`."""
    if name not in REGISTRY:
        raise BenchConfigError(f"unknown backend {name!r}; use one of {sorted(REGISTRY)}")
    module, cls = REGISTRY[name]
    return getattr(importlib.import_module(module), cls)
