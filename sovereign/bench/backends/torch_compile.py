"""PyTorch through `torch.compile` (Inductor); on a GPU the `reduce-overhead` mode replays CUDA graphs."""
from __future__ import annotations

from ..config import BACKEND_PRECISIONS
from .torch_eager import TorchEagerBackend


class TorchCompileBackend(TorchEagerBackend):
    """The eager model compiled once; new batch sizes recompile (automatic dynamic shapes after the first)."""

    NAME = "torch_compile"
    PRECISIONS = BACKEND_PRECISIONS["torch_compile"]

    def load(self) -> None:
        self.model = self._setup()
        torch = self.torch
        # One recompilation per batch size at most; the default limit (8) would silently fall back to eager.
        dyn = torch._dynamo.config
        for name in ("recompile_limit", "cache_size_limit"):
            if hasattr(dyn, name):
                setattr(dyn, name, 64)
        mode = self.ctx.compile_mode
        self.fn = torch.compile(self.model, mode=None if mode == "default" else mode)
        self.info.update({"compile_mode": mode,
                          "cuda_graphs": self.dev.type == "cuda" and mode == "reduce-overhead"})

    def run(self, inputs):
        if self.info["cuda_graphs"]:
            self.torch.compiler.cudagraph_mark_step_begin()  # earlier outputs may be overwritten
        with self.torch.no_grad():
            return self.fn(inputs)
