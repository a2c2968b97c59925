"""Static-shape CUDA-graph replay of a torch callable on its own CUDA stream (imports torch only when used).

One graph per input shape, captured after a few warm-up calls on a side stream (cuDNN
autotuning and allocator growth happen there, not in the capture). Replays run on the
runner's own stream, not torch's default stream, so nothing else queued on the default
stream serialises with them; the tracker records its CUDA events on the same stream.
"""
from __future__ import annotations

import time

from ..errors import BackendUnavailable

WARMUP_CALLS = 3


class GraphRunner:
    """Capture `fn` per input shape; `replay(x)` copies x into the static input (when needed) and replays."""

    def __init__(self, fn, device_kind: str):
        if device_kind != "cuda":
            raise BackendUnavailable("CUDA graphs need a CUDA device; this device is a CPU")
        import torch

        if not torch.cuda.is_available():
            raise BackendUnavailable("torch sees no CUDA GPU to capture CUDA graphs on")
        self.torch = torch
        self.fn = fn
        self.stream = torch.cuda.Stream()
        self.graphs: dict[tuple, tuple] = {}
        self.pool = torch.cuda.graph_pool_handle()  # shapes share one memory pool

    def capture(self, x) -> dict:
        """Capture the graph for x's shape (once); return the capture time for the row."""
        torch, key = self.torch, (tuple(x.shape), x.dtype)
        if key in self.graphs:
            return {"graph_capture_s": self.graphs[key][3], "graph_batch": int(x.shape[0])}
        t0 = time.perf_counter()
        static_in = x.clone()
        self.stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.stream), torch.no_grad():
            for _ in range(WARMUP_CALLS):
                self.fn(static_in)
        self.stream.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.no_grad(), torch.cuda.graph(graph, pool=self.pool, stream=self.stream):
            static_out = self.fn(static_in)
        torch.cuda.synchronize()
        took = time.perf_counter() - t0
        self.graphs[key] = (graph, static_in, static_out, took)
        return {"graph_capture_s": took, "graph_batch": int(x.shape[0])}

    def replay(self, x):
        """Replay the graph captured for x's shape on the runner's stream; the output is the graph's static tensor."""
        torch = self.torch
        key = (tuple(x.shape), x.dtype)
        if key not in self.graphs:  # a shape nobody built for: capture now rather than fail
            self.capture(x)
        graph, static_in, static_out, _ = self.graphs[key]
        self.stream.wait_stream(torch.cuda.current_stream())  # inputs prepared on the default stream
        with torch.cuda.stream(self.stream):
            if x.data_ptr() != static_in.data_ptr():
                static_in.copy_(x, non_blocking=True)
            graph.replay()
        return static_out
