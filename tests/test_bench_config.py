"""The CNN grid's jobs: the GPU grid's best path (channels-last, compiled) and its errors naming the key."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from sovereign.bench.config import CnnSuite, cnn_jobs
from sovereign.bench.errors import BenchConfigError

ROOT = Path(__file__).resolve().parent.parent
CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def _jobs(devices, gpu=None):
    c = copy.deepcopy(CONFIG)
    c["bench"]["devices"] = devices
    c["bench"]["suites"]["cnn"]["gpu"].update(gpu or {})
    return {(j["device"], j["model"], j["backend"], j["precision"]) for j in cnn_jobs(c)}


def test_gpu_grid_holds_compiled_channels_last_points_and_the_cpu_grid_does_not():
    suite = CnnSuite.from_config(CONFIG["bench"]["suites"]["cnn"])
    assert suite.gpu.best_path == {"batch_sizes": [1024, 2048], "channels_last": True, "compile_mode": "reduce-overhead",
                                   "backends": {"torch_eager": ["fp16"], "torch_compile": ["fp16"]}}
    assert suite.cpu.best_path == {}
    best = suite.gpu.best_grid()
    assert (best.channels_last, best.batch_sizes, best.compile_mode) == (True, [1024, 2048], "reduce-overhead")
    assert not any(b == "torch_compile" for _, _, b, _ in _jobs(["cpu"]))


def test_a_best_path_pair_gets_a_job_even_when_the_grid_drops_its_backend():
    jobs = _jobs(["h200"], {"models": ["resnet18"], "backends": {"torch_eager": [], "torch_compile": []}})
    assert jobs == {("h200", "resnet18", "torch_eager", "fp16"), ("h200", "resnet18", "torch_compile", "fp16")}


@pytest.mark.parametrize("best, key", [
    ({"batch_sizes": [2048], "backends": {"onnxruntime": ["fp32"]}}, "best_path.backends.onnxruntime"),
    ({"batch_sizes": [], "backends": {"torch_compile": ["fp16"]}}, "best_path.batch_sizes"),
    ({"batch_sizes": [8], "backends": {"torch_compile": ["fp16"]}, "layout": "nhwc"}, "best_path.layout"),
    ({"batch_sizes": [8], "backends": {"torch_compile": ["int8"]}}, "best_path.backends.torch_compile"),
])
def test_bad_best_path_names_the_key(best, key):
    section = copy.deepcopy(CONFIG["bench"]["suites"]["cnn"])
    section["gpu"]["best_path"] = best
    with pytest.raises(BenchConfigError, match=f"bench.suites.cnn.gpu.{key}"):
        CnnSuite.from_config(section)
