"""torch.compile builds one static graph per batch size; CUDA-graph and TensorRT paths refuse a CPU cleanly."""
from __future__ import annotations

import pytest
import torch

from sovereign.bench.backends.base import BackendContext
from sovereign.bench.backends.torch_compile import TorchCompileBackend, graph_count
from sovereign.bench.backends.torch_eager import TorchEagerBackend
from sovereign.bench.config import DeviceSpec
from sovereign.bench.errors import BackendUnavailable
from sovereign.bench.tracker import LatencyTracker


def tiny_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                               torch.nn.Flatten(), torch.nn.Linear(4, 5)).eval()


def ctx(**kw):
    return BackendContext(device=DeviceSpec(name="cpu"), model_name="tiny", precision="fp32", model=tiny_model(), **kw)


def test_each_batch_size_runs_a_graph_compiled_for_it():
    torch._dynamo.reset()
    backend = TorchCompileBackend(ctx())
    backend.load()
    facts = {}
    for b in (3, 5):
        x = backend.prepare(torch.randn(b, 3, 8, 8))
        facts[b] = backend.build_for(x)
        assert facts[b]["compile_batch"] == b and facts[b]["graphs_compiled"] == 1 and facts[b]["compile_s"] > 0
        # timing at B after building for B compiles nothing more: the graph built for B is the one that runs
        before = graph_count(torch)
        out = backend.run(x)
        assert graph_count(torch) == before and out.shape == (b, 5)
    # static shapes: a third size is a new graph, not a shape-generic one reused (automatic dynamic would reuse it)
    before = graph_count(torch)
    again = backend.build_for(backend.prepare(torch.randn(7, 3, 8, 8)))
    assert again["graphs_compiled"] == 1 and graph_count(torch) == before + 1
    assert backend.build_for(backend.prepare(torch.randn(3, 3, 8, 8))) == {**facts[3], "graphs_total": graph_count(torch)}
    assert backend.info["compile_dynamic"] is False and backend.info["cuda_graphs"] is False
    with torch.no_grad():
        ref = tiny_model()(torch.ones(3, 3, 8, 8))
    assert torch.allclose(backend.run(torch.ones(3, 3, 8, 8)), ref, atol=1e-5)


def test_cuda_graphs_on_a_cpu_are_unavailable():
    backend = TorchEagerBackend(ctx(cuda_graphs=True))
    with pytest.raises(BackendUnavailable, match="CUDA graphs need a CUDA device"):
        backend.load()
    plain = TorchEagerBackend(ctx())
    plain.load()
    assert plain.stream is None and plain.build_for(torch.zeros(1, 3, 8, 8)) == {} and plain.info["cuda_graphs"] is False


def test_tensorrt_on_a_cpu_is_unavailable_without_importing_cuda():
    from sovereign.bench.backends.tensorrt import TensorRTBackend

    backend = TensorRTBackend(BackendContext(device=DeviceSpec(name="cpu"), model_name="resnet18", precision="fp16",
                                             model=tiny_model()))
    with pytest.raises(BackendUnavailable, match="TensorRT"):
        backend.load()


def test_cpu_tracker_accepts_a_stream_and_ignores_it():
    tracker = LatencyTracker("cpu", stream=object())
    with tracker:
        pass
    assert len(tracker.samples_ms) == 1 and tracker.samples_ms[0] >= 0
