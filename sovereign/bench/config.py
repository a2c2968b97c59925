"""Typed benchmark configuration: device entries, the CNN suite's grids, and the jobs they imply.

Built from the workflow config's `devices:` and `bench:` sections (already schema-checked
when they come through Snakemake), but validated again in `__post_init__` so the CLI on a
GPU host without jsonschema gets the same clear errors, naming the key.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path

from .errors import BenchConfigError
from .protocol import ProtocolSettings, check_protocols
from .tracker import TimingConfig

BACKENDS = ("torch_eager", "torch_compile", "onnxruntime", "tensorrt")
PRECISIONS = ("fp32", "tf32", "fp16", "bf16", "int8")
# What each backend can be asked for; anything else is a config error.
BACKEND_PRECISIONS = {"torch_eager": ("fp32", "tf32", "fp16", "bf16"),
                      "torch_compile": ("fp32", "tf32", "fp16", "bf16"),
                      "onnxruntime": ("fp32", "int8"),
                      "tensorrt": ("fp32", "tf32", "fp16", "int8")}
MODELS = {"resnet18": 1.81, "resnet50": 4.09, "resnet101": 7.80}  # GMAC per 224x224 image
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
PLACEMENT_KEYS = ("partition", "gpu_model", "runtime_min", "mem_mb")
DEEP_GAP_BATCHES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512]


def stable_hash(obj) -> str:
    """A short stable hash of a JSON-able value (same recipe as sovereign.config.config_hash, no jsonschema needed)."""
    blob = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _need(cond: bool, key: str, msg: str) -> None:
    if not cond:
        raise BenchConfigError(f"config key '{key}': {msg}")


@lru_cache(maxsize=8)
def _devices_file(path: str, mtime_ns: int) -> dict:
    import yaml

    return (yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}).get("devices") or {}


def device_sheet(path, device: str) -> dict:
    """`device`'s datasheet entry in a devices.yaml ({} when the file or the entry is missing); the file is parsed
    once per version (Snakemake asks for it twice per job while it builds the DAG)."""
    p = Path(path) if path else None
    if p is None or not p.exists():
        return {}
    return dict(_devices_file(str(p), p.stat().st_mtime_ns).get(device) or {})


def build_section(cls, section, where: str, **extra):
    """A settings dataclass from a config mapping; an unknown key is an error naming it (used by every suite)."""
    section = dict(section or {})
    known = {f.name for f in fields(cls)} - {"key"}
    unknown = sorted(set(section) - known)
    _need(not unknown, f"{where}.{unknown[0] if unknown else ''}", f"not a known setting; known keys: {sorted(known)}")
    try:
        return cls(**section, **extra)
    except TypeError as exc:
        raise BenchConfigError(f"config key '{where}': {exc}") from None


@dataclass
class DeviceSpec:
    """A named place to benchmark: CPU or a CUDA GPU whose name must contain `gpu_name`, plus Slurm placement."""

    name: str
    kind: str = "cpu"
    gpu_name: str = ""
    allow_mismatch: bool = False
    memory_cap_mb: int | None = None
    partition: str = ""
    gpu_model: str = ""
    gpus: int = 0
    runtime_min: int = 60
    mem_mb: int = 4000
    cpus: int = 2

    def __post_init__(self):
        key = f"devices.{self.name}"
        _need(self.kind in ("cpu", "cuda"), f"{key}.kind", f"{self.kind!r} is not allowed; use 'cpu' or 'cuda'")
        _need(self.kind == "cpu" or self.gpus >= 1, f"{key}.gpus", "a cuda device needs at least 1 GPU")
        _need(self.memory_cap_mb is None or self.memory_cap_mb > 0, f"{key}.memory_cap_mb", "must be positive or null")
        for name in ("runtime_min", "mem_mb", "cpus"):
            _need(isinstance(getattr(self, name), int) and getattr(self, name) >= 1, f"{key}.{name}",
                  f"expected a positive integer, got {getattr(self, name)!r}")

    @classmethod
    def from_config(cls, name: str, entry: dict) -> "DeviceSpec":
        """Build from a `devices.<name>` mapping; unknown keys are an error naming the key."""
        known = {f.name for f in fields(cls)} - {"name"}
        extra = sorted(set(entry) - known)
        _need(not extra, f"devices.{name}.{extra[0] if extra else ''}", f"not a known setting; known keys: {sorted(known)}")
        return cls(name=name, **entry)

    @property
    def timer(self) -> str:
        """Which clock times this device: CUDA events or perf_counter."""
        return "cuda" if self.kind == "cuda" else "cpu"


@dataclass
class CnnGrid:
    """The points one kind of device sweeps: models, batch sizes, backend -> precisions."""

    models: list = field(default_factory=lambda: ["resnet18"])
    batch_sizes: list = field(default_factory=lambda: [1, 8])
    backends: dict = field(default_factory=lambda: {"torch_eager": ["fp32"]})
    channels_last: bool = False
    compile_mode: str = "default"
    ort_providers: list = field(default_factory=list)
    cuda_graphs: bool = False
    best_path: dict = field(default_factory=dict)
    key: str = "bench.suites.cnn.cpu"

    def __post_init__(self):
        for m in self.models:
            _need(m in MODELS, f"{self.key}.models", f"{m!r} is not a known model; use one of {sorted(MODELS)}")
        _need(bool(self.batch_sizes) and all(isinstance(b, int) and b >= 1 for b in self.batch_sizes),
              f"{self.key}.batch_sizes", "expected a non-empty list of positive integers")
        for backend, precisions in self.backends.items():
            _need(backend in BACKENDS, f"{self.key}.backends.{backend}", f"unknown backend; use one of {list(BACKENDS)}")
            for p in precisions:
                _need(p in BACKEND_PRECISIONS[backend], f"{self.key}.backends.{backend}",
                      f"{p!r} is not a precision of {backend}; use one of {list(BACKEND_PRECISIONS[backend])}")
        _need(self.compile_mode in COMPILE_MODES, f"{self.key}.compile_mode", f"use one of {list(COMPILE_MODES)}")
        self.best_path = check_best_path(self.best_path, f"{self.key}.best_path", self.compile_mode)

    def pairs(self) -> list[tuple[str, str]]:
        """(backend, precision) pairs this grid runs: its own, then the best path's not already there."""
        own = [(b, p) for b, ps in self.backends.items() for p in ps]
        extra = [(b, p) for b, ps in self.best_path.get("backends", {}).items() for p in ps if (b, p) not in own]
        return own + extra

    def best_grid(self) -> "CnnGrid":
        """The grid of the best-path points: same settings, its layout, compile mode and batch sizes."""
        bp = self.best_path
        return CnnGrid(models=list(self.models), batch_sizes=list(bp["batch_sizes"]), backends=dict(bp["backends"]),
                       channels_last=bp["channels_last"], compile_mode=bp["compile_mode"],
                       ort_providers=list(self.ort_providers), cuda_graphs=self.cuda_graphs, key=self.key)


BEST_PATH_KEYS = ("batch_sizes", "backends", "channels_last", "compile_mode")


def check_best_path(bp: dict, key: str, compile_mode: str) -> dict:
    """Validate a grid's `best_path` (empty: none) and fill its defaults: channels-last, the grid's compile mode."""
    bp = dict(bp or {})
    if not bp:
        return {}
    extra = sorted(set(bp) - set(BEST_PATH_KEYS))
    _need(not extra, f"{key}.{extra[0] if extra else ''}", f"not a known setting; known keys: {list(BEST_PATH_KEYS)}")
    sizes = bp.get("batch_sizes")
    _need(bool(sizes) and all(isinstance(b, int) and b >= 1 for b in sizes), f"{key}.batch_sizes",
          "expected a non-empty list of positive integers")
    backends = bp.get("backends") or {}
    _need(bool(backends), f"{key}.backends", "name at least one PyTorch backend and its precisions")
    for backend, precisions in backends.items():
        _need(backend in ("torch_eager", "torch_compile"), f"{key}.backends.{backend}",
              "the best path is PyTorch's: use torch_eager or torch_compile")
        for p in precisions:
            _need(p in BACKEND_PRECISIONS[backend], f"{key}.backends.{backend}",
                  f"{p!r} is not a precision of {backend}; use one of {list(BACKEND_PRECISIONS[backend])}")
    bp.setdefault("channels_last", True)
    _need(isinstance(bp["channels_last"], bool), f"{key}.channels_last", "expected true or false")
    bp.setdefault("compile_mode", compile_mode)
    _need(bp["compile_mode"] in COMPILE_MODES, f"{key}.compile_mode", f"use one of {list(COMPILE_MODES)}")
    return bp


@dataclass
class CnnSuite:
    """The CNN suite: shared settings, timing, and one grid per device kind."""

    seed: int = 0
    weights: dict = field(default_factory=dict)
    h2d_in_timed_region: bool = False
    agreement_batch: int = 8
    calibration_batches: int = 4
    calibration_batch_size: int = 8
    int8_per_channel: bool = True
    protocols: list = field(default_factory=lambda: ["stable"])
    protocol_settings: ProtocolSettings = field(default_factory=ProtocolSettings)
    timing: TimingConfig = field(default_factory=TimingConfig)
    cpu: CnnGrid = field(default_factory=CnnGrid)
    gpu: CnnGrid = field(default_factory=lambda: CnnGrid(key="bench.suites.cnn.gpu"))

    def __post_init__(self):
        for name in ("agreement_batch", "calibration_batches", "calibration_batch_size"):
            _need(getattr(self, name) >= 1, f"bench.suites.cnn.{name}", "must be at least 1")
        self.protocols = check_protocols(self.protocols, "bench.suites.cnn.protocols")
        _need(isinstance(self.int8_per_channel, bool), "bench.suites.cnn.int8_per_channel", "expected true or false")
        for model in self.weights:
            _need(model in MODELS, f"bench.suites.cnn.weights.{model}", f"not a known model; use one of {sorted(MODELS)}")

    @classmethod
    def from_config(cls, section: dict) -> "CnnSuite":
        """Build from `bench.suites.cnn`."""
        s = dict(section or {})
        try:
            s["timing"] = TimingConfig(**s.get("timing", {}))
            s["protocol_settings"] = ProtocolSettings.from_config(s.get("protocol_settings"))
            s["cpu"] = CnnGrid(**s.get("cpu", {}), key="bench.suites.cnn.cpu")
            s["gpu"] = CnnGrid(**s.get("gpu", {}), key="bench.suites.cnn.gpu")
            return cls(**s)
        except TypeError as exc:  # an unknown key reaches a dataclass constructor
            raise BenchConfigError(f"config key 'bench.suites.cnn': {exc}") from None

    def grid(self, device: DeviceSpec) -> CnnGrid:
        """The grid a device sweeps (by its kind)."""
        return self.gpu if device.kind == "cuda" else self.cpu


def devices_from_config(config: dict) -> dict[str, DeviceSpec]:
    """All `devices:` entries as DeviceSpec, by name."""
    return {name: DeviceSpec.from_config(name, dict(entry)) for name, entry in (config.get("devices") or {}).items()}


def suite_config(config: dict, suite: str) -> dict:
    """`bench.suites.<suite>` of a workflow config ({} when absent)."""
    return ((config.get("bench") or {}).get("suites") or {}).get(suite) or {}


def device_spec(config: dict, name: str) -> DeviceSpec:
    """The device entry `name`; a plain CPU entry when the config has none called 'cpu'."""
    devices = devices_from_config(config)
    if name in devices:
        return devices[name]
    _need(name == "cpu", "bench.devices", f"names device {name!r}, which has no entry under devices")
    return DeviceSpec(name="cpu")


def cnn_jobs(config: dict) -> list[dict]:
    """One job per device x model x backend x precision for the devices `bench.devices` names."""
    devices = devices_from_config(config)
    bench = config.get("bench") or {}
    suite = CnnSuite.from_config((bench.get("suites") or {}).get("cnn") or {})
    jobs = []
    for dev_name in bench.get("devices", ["cpu"]):
        _need(dev_name in devices, "bench.devices", f"names device {dev_name!r}, which has no entry under devices")
        grid = suite.grid(devices[dev_name])
        for model in grid.models:
            for backend, precision in grid.pairs():
                jobs.append({"device": dev_name, "model": model, "backend": backend, "precision": precision})
    return jobs


def job_params(config: dict, device: str, model: str) -> dict:
    """What one bench_cnn job needs, and nothing more (so unrelated config changes rerun nothing)."""
    suite = dict(config["bench"]["suites"]["cnn"])
    kind = config["devices"][device].get("kind", "cpu")
    grid_key = "gpu" if kind == "cuda" else "cpu"
    shared = {k: v for k, v in suite.items() if k not in ("cpu", "gpu", "weights")}
    # models/backends only decide which jobs exist; leaving them out keeps other jobs from rerunning.
    grid = {k: v for k, v in suite[grid_key].items() if k not in ("models", "backends")}
    # Slurm placement (partition, GPU model, minutes, memory) does not change a result: left out of params.
    dev = {k: v for k, v in config["devices"][device].items() if k not in PLACEMENT_KEYS}
    return {"device": dev, "grid": grid, "suite": shared,
            "weights": (suite.get("weights") or {}).get(model, ""), "cache_dir": config["bench"]["cache_dir"]}
