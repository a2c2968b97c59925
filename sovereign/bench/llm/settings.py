"""Typed settings of the `llm` suite (`bench.suites.llm`), the jobs they imply and each job's params.

Validated again in `__post_init__` (the workflow's schema check already ran), so the CLI on a
GPU host without jsonschema gets the same errors naming the key.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..config import PLACEMENT_KEYS, DeviceSpec, _need, build_section, device_sheet, device_spec, suite_config
from .backends import BACKENDS
from .registry import load_registry

KEY = "bench.suites.llm"
PRECISIONS = ("fp32", "fp16", "bf16")


def _positive_ints(values, key: str) -> None:
    _need(isinstance(values, list) and bool(values) and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1
                                                            for v in values), key,
          f"expected a non-empty list of positive integers, got {values!r}")


@dataclass
class LlmGrid:
    """What one kind of device sweeps: models x backends x precisions (one job each) x batch/input/output lengths."""

    models: list = field(default_factory=lambda: ["pythia-14m"])
    backends: list = field(default_factory=lambda: ["hf_eager", "fast_decode"])
    precisions: list = field(default_factory=lambda: ["fp32"])
    batch_sizes: list = field(default_factory=lambda: [1, 4])
    input_lens: list = field(default_factory=lambda: [32])
    output_lens: list = field(default_factory=lambda: [16])
    warmup: int = 2
    iterations: int = 10
    prefill_iterations: int = 10
    compile: bool = True
    check_batch: int = 2
    check_tokens: int = 8
    key: str = f"{KEY}.cpu"

    def __post_init__(self):
        registry = load_registry()
        _need(isinstance(self.models, list) and bool(self.models), f"{self.key}.models", "expected a non-empty list of registry keys")
        for m in self.models:
            _need(m in registry, f"{self.key}.models", f"{m!r} is not in config/models.yaml; use one of {sorted(registry)}")
        for name, allowed in (("backends", BACKENDS), ("precisions", PRECISIONS)):
            values = getattr(self, name)
            _need(isinstance(values, list) and bool(values) and all(v in allowed for v in values), f"{self.key}.{name}",
                  f"{values!r} is not allowed; use a non-empty list of {list(allowed)}")
        for name in ("batch_sizes", "input_lens", "output_lens"):
            _positive_ints(getattr(self, name), f"{self.key}.{name}")
        _need(all(n >= 2 for n in self.output_lens), f"{self.key}.output_lens", "TPOT needs at least 2 output tokens")
        for name, low in (("warmup", 1), ("iterations", 1), ("prefill_iterations", 1), ("check_batch", 1), ("check_tokens", 1)):
            v = getattr(self, name)
            _need(isinstance(v, int) and not isinstance(v, bool) and v >= low, f"{self.key}.{name}", f"expected an integer >= {low}, got {v!r}")
        _need(isinstance(self.compile, bool), f"{self.key}.compile", "expected true or false")


@dataclass
class LlmSuite:
    """The llm suite: seed, energy window floor, and one grid per device kind."""

    seed: int = 0
    min_energy_window_s: float = 10.0
    cpu: LlmGrid = field(default_factory=LlmGrid)
    gpu: LlmGrid = field(default_factory=lambda: LlmGrid(key=f"{KEY}.gpu", precisions=["bf16"]))

    def __post_init__(self):
        _need(isinstance(self.seed, int), f"{KEY}.seed", "expected an integer")
        _need(isinstance(self.min_energy_window_s, (int, float)) and self.min_energy_window_s > 0,
              f"{KEY}.min_energy_window_s", "expected a positive number of seconds")

    @classmethod
    def from_config(cls, section: dict | None) -> "LlmSuite":
        """Build from the `bench.suites.llm` mapping (missing keys take the defaults)."""
        s = dict(section or {})
        for kind in ("cpu", "gpu"):
            if kind in s:
                s[kind] = build_section(LlmGrid, s[kind], f"{KEY}.{kind}", key=f"{KEY}.{kind}")
        return build_section(cls, s, KEY)

    def grid(self, device: DeviceSpec) -> LlmGrid:
        """The grid a device sweeps (by its kind)."""
        return self.gpu if device.kind == "cuda" else self.cpu


def suite_section(config: dict) -> dict:
    """`bench.suites.llm` of a workflow config ({} when absent)."""
    return suite_config(config, "llm")


def llm_jobs(config: dict) -> list[dict]:
    """One job per device x model x backend x precision for the devices `bench.devices` names."""
    section = suite_section(config)
    if not section:
        return []
    suite = LlmSuite.from_config(section)
    jobs = []
    for dev in (config.get("bench") or {}).get("devices", ["cpu"]):
        grid = suite.grid(device_spec(config, dev))
        jobs.extend({"device": dev, "model": m, "backend": b, "precision": p}
                    for m in grid.models for b in grid.backends for p in grid.precisions)
    return jobs


def datasheet(path, device: str) -> dict:
    """Memory capacity (GB) and bandwidth (GB/s) of `device` from a devices.yaml ({} when the file or entry is missing)."""
    if not path or not Path(path).exists():
        return {}
    entry = device_sheet(path, device)
    return {"memory_gb": entry.get("memory_gb"), "memory_gbs": entry.get("memory_gbs")}


def job_params(config: dict, device: str, model: str, devices_file=None) -> dict:
    """What one bench_llm job needs, and nothing more (so unrelated config changes rerun nothing)."""
    suite = suite_section(config)
    spec = device_spec(config, device)
    kind = "gpu" if spec.kind == "cuda" else "cpu"
    grid = {k: v for k, v in (suite.get(kind) or {}).items() if k not in ("models", "backends", "precisions")}
    entry = load_registry()[model]
    dev = {k: v for k, v in asdict(spec).items() if k != "name" and k not in PLACEMENT_KEYS}
    dev["mem_mb"] = spec.mem_mb  # a CPU job's memory limit decides which points fit
    # the model's facts are part of the params: editing its registry entry reruns its jobs
    facts = {k: v for k, v in asdict(entry).items() if k not in ("aliases", "source")}
    facts["source"] = entry.source
    return {"device": dev, "grid": grid, "suite": {k: v for k, v in suite.items() if k not in ("cpu", "gpu")},
            "model": facts, "datasheet": datasheet(devices_file, device)}
