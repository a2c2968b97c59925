"""PyTorch through `torch.compile` (Inductor), one static graph per batch size; `reduce-overhead` replays CUDA graphs on a GPU.

`dynamic=False` makes every new input shape compile its own graph specialised to that
shape (without it Dynamo switches to one shape-generic graph at the second batch size).
`build_for` compiles the graph for a batch size before anything is timed and returns the
compile time and the Dynamo graph counters for the row.
"""
from __future__ import annotations

import time

from ..config import BACKEND_PRECISIONS
from .torch_eager import TorchEagerBackend


def graph_count(torch) -> int:
    """Graphs Dynamo has compiled in this process (its `unique_graphs` counter)."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])


class TorchCompileBackend(TorchEagerBackend):
    """The eager model under torch.compile(dynamic=False): a batch size gets a graph built for it, once."""

    NAME = "torch_compile"
    PRECISIONS = BACKEND_PRECISIONS["torch_compile"]

    def load(self) -> None:
        self.model = self._setup()
        torch = self.torch
        # One graph per batch size: the default limit (8) would silently fall back to eager past 8 sizes.
        dyn = torch._dynamo.config
        for name in ("recompile_limit", "cache_size_limit"):
            if hasattr(dyn, name):
                setattr(dyn, name, 64)
        mode = self.ctx.compile_mode
        self.fn = torch.compile(self.model, mode=None if mode == "default" else mode, dynamic=False)
        self._built: dict[tuple, dict] = {}
        self.info.update({"compile_mode": mode, "compile_dynamic": False,
                          "cuda_graphs": self.dev.type == "cuda" and mode in ("reduce-overhead", "max-autotune")})

    def build_for(self, inputs) -> dict:
        """Compile (first call) the graph for this input shape; its compile time and graph count for the row."""
        shape = tuple(inputs.shape)
        if shape not in self._built:
            before = graph_count(self.torch)
            t0 = time.perf_counter()
            self.run(inputs)
            if self.dev.type == "cuda":
                self.torch.cuda.synchronize()
            self._built[shape] = {"compile_s": time.perf_counter() - t0, "compile_batch": int(shape[0]),
                                  "graphs_compiled": graph_count(self.torch) - before}
        return {**self._built[shape], "graphs_total": graph_count(self.torch)}

    def run(self, inputs):
        if self.info["cuda_graphs"]:
            self.torch.compiler.cudagraph_mark_step_begin()  # earlier outputs may be overwritten
        with self.torch.no_grad():
            return self.fn(inputs)
