"""Typed settings of the `moe_routing` suite (`bench.suites.moe_routing`) and the jobs they imply.

Validated again in `__post_init__` (the workflow's schema check already ran), so the CLI on a
GPU host without jsonschema gets the same errors naming the key.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from ..config import DeviceSpec, _need, build_section, device_sheet, device_spec, suite_config
from ..errors import BenchConfigError
from ..tracker import TimingConfig
from .strategy import OnDemandConfig, parse_strategy

KEY = "bench.suites.moe_routing"
DTYPES = ("fp32", "bf16", "fp16")
WORKLOADS = ("vqav2", "visual7w")
PHASES = ("prefill", "decode")
DISPATCHES = ("loop", "grouped", "graph")
ACTIVATIONS = ("swiglu", "gelu")
DEFAULT_STRATEGIES = ["topk1", "topk2", "topk4", "topp0.5", "ondemand"]


@dataclass(frozen=True)
class BlockConfig:
    """One MoE feed-forward block (router + experts), stacked `layers` times; `name` labels the rows."""

    name: str = "tiny_8e"
    hidden: int = 64
    ffn: int = 128
    experts: int = 8
    layers: int = 2
    activation: str = "swiglu"
    virtual_experts: int = 2
    router_scale: float = 2.0
    key: str = f"{KEY}.cpu.block"

    def __post_init__(self):
        for name in ("hidden", "ffn", "experts", "layers"):
            v = getattr(self, name)
            _need(isinstance(v, int) and v >= 1, f"{self.key}.{name}", f"expected a positive integer, got {v!r}")
        _need(self.activation in ACTIVATIONS, f"{self.key}.activation", f"{self.activation!r} is not allowed; use one of {list(ACTIVATIONS)}")
        _need(isinstance(self.virtual_experts, int) and self.virtual_experts >= 0, f"{self.key}.virtual_experts", "expected an integer >= 0")
        _need(self.router_scale > 0, f"{self.key}.router_scale", "must be positive")
        _need(bool(self.name), f"{self.key}.name", "must be a non-empty label")


@dataclass(frozen=True)
class WorkloadConfig:
    """Shape of the synthetic VQAv2-like / Visual7W-like samples and their token importance."""

    visual_tokens: int = 576
    tokens_per_word: float = 1.3
    visual_importance: tuple = (2.0, 5.0)
    text_importance: tuple = (5.0, 2.0)
    vqav2_mean_words: float = 6.2
    visual7w_choices: int = 4
    key: str = f"{KEY}.workload"

    def __post_init__(self):
        _need(isinstance(self.visual_tokens, int) and self.visual_tokens >= 0, f"{self.key}.visual_tokens", "expected an integer >= 0")
        _need(self.tokens_per_word > 0, f"{self.key}.tokens_per_word", "must be positive")
        for name in ("visual_importance", "text_importance"):
            ab = tuple(getattr(self, name))
            _need(len(ab) == 2 and all(v > 0 for v in ab), f"{self.key}.{name}", "expected two positive Beta parameters [a, b]")
            object.__setattr__(self, name, ab)
        _need(self.vqav2_mean_words >= 2, f"{self.key}.vqav2_mean_words", "must be at least 2")
        _need(isinstance(self.visual7w_choices, int) and self.visual7w_choices >= 0, f"{self.key}.visual7w_choices", "expected an integer >= 0")


MODEL_SHAPES = ("moellava-small", "moellava-stablelm-1.6b-4e")


@dataclass
class ModelGrid:
    """Model-level points: the MoE-LLaVA-shaped model serving the job's workload, per strategy and batch size."""

    shape: str = "moellava-small"
    experts: int = 4
    batch_sizes: list = field(default_factory=lambda: [1, 4])
    strategies: list = field(default_factory=list)  # empty: the grid's strategies
    requests: int = 4
    key: str = f"{KEY}.cpu.model"

    def __post_init__(self):
        _need(self.shape in MODEL_SHAPES, f"{self.key}.shape", f"{self.shape!r} is not allowed; use one of {list(MODEL_SHAPES)}")
        _need(isinstance(self.experts, int) and self.experts >= 1, f"{self.key}.experts", "expected a positive integer")
        _need(bool(self.batch_sizes) and all(isinstance(b, int) and b >= 1 for b in self.batch_sizes),
              f"{self.key}.batch_sizes", "expected a non-empty list of positive integers")
        _need(isinstance(self.requests, int) and self.requests >= 1, f"{self.key}.requests", "expected a positive integer")


@dataclass
class MoeGrid:
    """What one kind of device sweeps: the block, dtypes, batch sizes, strategies, workloads, phases, dispatches."""

    block: BlockConfig = field(default_factory=BlockConfig)
    dtypes: list = field(default_factory=lambda: ["fp32"])
    batch_sizes: list = field(default_factory=lambda: [1, 4])
    strategies: list = field(default_factory=lambda: list(DEFAULT_STRATEGIES))
    workloads: list = field(default_factory=lambda: list(WORKLOADS))
    phases: list = field(default_factory=lambda: list(PHASES))
    dispatches: list = field(default_factory=lambda: ["loop", "grouped"])
    time_budget_s: float = 0.3
    model: ModelGrid | None = None
    key: str = f"{KEY}.cpu"

    def __post_init__(self):
        if isinstance(self.block, dict):
            self.block = build_section(BlockConfig, self.block, f"{self.key}.block", key=f"{self.key}.block")
        if isinstance(self.model, dict):
            self.model = build_section(ModelGrid, self.model, f"{self.key}.model", key=f"{self.key}.model")
        for name, allowed in (("dtypes", DTYPES), ("workloads", WORKLOADS), ("phases", PHASES), ("dispatches", DISPATCHES)):
            values = getattr(self, name)
            _need(bool(values) and all(v in allowed for v in values), f"{self.key}.{name}",
                  f"{values!r} is not allowed; use a non-empty list of {list(allowed)}")
        _need(bool(self.batch_sizes) and all(isinstance(b, int) and b >= 1 for b in self.batch_sizes),
              f"{self.key}.batch_sizes", "expected a non-empty list of positive integers")
        _need(bool(self.strategies), f"{self.key}.strategies", "expected a non-empty list of strategy names")
        _need(self.time_budget_s > 0, f"{self.key}.time_budget_s", "must be positive")


@dataclass
class MoeSuite:
    """The moe_routing suite: routing parameters, workload shapes, timing, and one grid per device kind."""

    seed: int = 0
    topp_max_k: int = 4
    ondemand: OnDemandConfig = field(default_factory=OnDemandConfig)
    workload: WorkloadConfig = field(default_factory=WorkloadConfig)
    timing: TimingConfig = field(default_factory=lambda: TimingConfig(warmup=3, min_iterations=10, max_iterations=200,
                                                                      round_iterations=5, time_budget_s=2.0))
    cpu: MoeGrid = field(default_factory=MoeGrid)
    gpu: MoeGrid = field(default_factory=lambda: MoeGrid(key=f"{KEY}.gpu"))

    def __post_init__(self):
        _need(isinstance(self.topp_max_k, int) and self.topp_max_k >= 1, f"{KEY}.topp_max_k", "expected a positive integer")
        for grid in (self.cpu, self.gpu):
            for name in grid.strategies:
                parse_strategy(name, grid.block.experts, self.topp_max_k, self.ondemand, key=f"{grid.key}.strategies")
            for name in (grid.model.strategies or grid.strategies) if grid.model else []:
                parse_strategy(name, grid.model.experts, self.topp_max_k, self.ondemand, key=f"{grid.model.key}.strategies")

    @classmethod
    def from_config(cls, section: dict | None) -> "MoeSuite":
        """Build from the `bench.suites.moe_routing` mapping (missing keys take the defaults)."""
        s = dict(section or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(s) - known)
        _need(not unknown, f"{KEY}.{unknown[0] if unknown else ''}", f"not a known setting; known keys: {sorted(known)}")
        if "ondemand" in s:
            s["ondemand"] = build_section(OnDemandConfig, s["ondemand"], f"{KEY}.ondemand", key=f"{KEY}.ondemand")
        if "workload" in s:
            s["workload"] = build_section(WorkloadConfig, s["workload"], f"{KEY}.workload")
        if "timing" in s:
            try:
                s["timing"] = TimingConfig(**s["timing"])
            except (TypeError, BenchConfigError) as exc:
                raise BenchConfigError(f"config key '{KEY}.timing': {exc}") from None
        for kind in ("cpu", "gpu"):
            if kind in s:
                s[kind] = build_section(MoeGrid, s[kind], f"{KEY}.{kind}", key=f"{KEY}.{kind}")
        return cls(**s)

    def grid(self, device: DeviceSpec) -> MoeGrid:
        """The grid a device sweeps (by its kind)."""
        return self.gpu if device.kind == "cuda" else self.cpu

    def shared(self) -> dict:
        """The settings every grid shares, as plain data (rule params)."""
        d = asdict(self)
        return {k: v for k, v in d.items() if k not in ("cpu", "gpu")}


def suite_section(config: dict) -> dict:
    """`bench.suites.moe_routing` of a workflow config ({} when absent)."""
    return suite_config(config, "moe_routing")


def moe_jobs(config: dict) -> list[dict]:
    """One job per device x workload for the devices `bench.devices` names."""
    suite = MoeSuite.from_config(suite_section(config))
    jobs = []
    for dev in (config.get("bench") or {}).get("devices", ["cpu"]):
        grid = suite.grid(device_spec(config, dev))
        jobs.extend({"device": dev, "workload": w} for w in grid.workloads)
    return jobs


def hardware_peaks(path: str | Path, device: str) -> dict:
    """Datasheet peak rates of `device` from a devices.yaml ({} when the file or the entry is missing)."""
    if not Path(path).exists():
        return {}
    entry = device_sheet(path, device)
    return {"peak_tflops": dict(entry.get("peak_tflops") or {}), "memory_gbs": entry.get("memory_gbs")}


def job_params(config: dict, device: str, peaks: dict | None = None) -> dict:
    """What one bench_moe job needs, and nothing more (so unrelated config changes rerun nothing)."""
    suite = suite_section(config)
    spec = device_spec(config, device)
    kind = "gpu" if spec.kind == "cuda" else "cpu"
    return {"device": {k: v for k, v in asdict(spec).items() if k != "name"},
            "grid": dict(suite.get(kind) or {}),
            "suite": {k: v for k, v in suite.items() if k not in ("cpu", "gpu")},
            "peaks": peaks or {}}
