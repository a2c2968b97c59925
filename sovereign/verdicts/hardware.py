"""Hardware specifications (config/devices.yaml): peaks, bandwidth, power, name aliases."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from ..text import has_word
from .errors import HardwareSpecError

DEFAULT_DEVICES_PATH = Path(__file__).resolve().parents[2] / "config" / "devices.yaml"
PRECISION_ALIASES = {"half": "fp16", "float16": "fp16", "float32": "fp32", "single": "fp32", "mixed": "fp16",
                     "mixed precision": "fp16", "amp": "fp16", "bfloat16": "bf16", "int-8": "int8"}
GENERIC_CPU = {"cpu", "xeon", "intel xeon", "x86", "epyc", "host"}


def key(text) -> str:
    """Lower-case alphanumerics only: 'ResNet-18' -> 'resnet18'."""
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def norm_precision(p: str | None) -> str | None:
    """Canonical precision name (fp32, tf32, fp16, bf16, int8)."""
    if p is None:
        return None
    p = str(p).strip().lower()
    return PRECISION_ALIASES.get(p, p)


@dataclass(frozen=True)
class DeviceSpec:
    """One device's datasheet numbers."""
    key: str
    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    peak_tflops: dict = field(default_factory=dict)
    memory_gbs: float | None = None
    tdp_w: float | None = None

    def __post_init__(self):
        if self.kind not in ("cuda", "cpu"):
            raise HardwareSpecError(f"devices.yaml: devices.{self.key}.kind must be cuda or cpu, not {self.kind!r}")
        for prec, val in self.peak_tflops.items():
            if not isinstance(val, (int, float)) or val <= 0:
                raise HardwareSpecError(f"devices.yaml: devices.{self.key}.peak_tflops.{prec} must be a positive number")

    def peak(self, precision: str | None) -> tuple[str, float] | None:
        """(precision used, peak TFLOP/s) for a precision; the highest peak when precision is unknown."""
        if not self.peak_tflops:
            return None
        p = norm_precision(precision)
        if p is None:
            best = max(self.peak_tflops, key=self.peak_tflops.get)
            return best, float(self.peak_tflops[best])
        if p in self.peak_tflops:
            return p, float(self.peak_tflops[p])
        fallback = {"bf16": "fp16", "fp16": "bf16", "tf32": "fp32"}.get(p)
        if fallback in self.peak_tflops:
            return fallback, float(self.peak_tflops[fallback])
        return None


@dataclass(frozen=True)
class CpuClass:
    """A family of CPUs a claim may name ('a Xeon', 'x86 server CPUs'): how claims say it, which CPUs belong."""
    key: str
    name: str
    aliases: tuple[str, ...] = ()
    members: tuple[str, ...] = ()

    def admits(self, hardware) -> bool:
        """Whether a recorded CPU model string belongs to the class (every CPU when it lists no members)."""
        if not self.members:
            return True
        text = re.sub(r"\((?:r|tm)\)", "", str(hardware or ""), flags=re.I)
        return any(has_word(text, m) for m in self.members)


@dataclass(frozen=True)
class Hardware:
    """Device specs, model work per item, and backend/method vocabularies."""
    devices: dict
    models: dict
    backends: dict
    methods: dict
    cpu_classes: dict = field(default_factory=dict)

    def cpu_class(self, name) -> CpuClass | None:
        """The CPU class a claim's device names ('xeon' -> x86 server CPU), or None for a specific device."""
        if name is None or self.resolve(name) is not None:
            return None
        k = key(name)
        for c in self.cpu_classes.values():
            if k in {key(a) for a in (c.key, c.name, *c.aliases)}:
                return c
        return None

    def resolve(self, name) -> DeviceSpec | None:
        """The spec a device name or alias refers to, or None."""
        if name is None:
            return None
        k = key(name)
        for spec in self.devices.values():
            if k == key(spec.key) or k in {key(a) for a in spec.aliases} or k == key(spec.name):
                return spec
        return None

    def identify(self, hardware, kind: str | None = None) -> DeviceSpec | None:
        """The spec of the hardware a row recorded ('NVIDIA L4', 'Tesla T4', a CPU model string), matched on
        whole words of its key, name and aliases ('L4' never matches 'NVIDIA L40S'); GPU specs match GPU
        names and CPU specs CPU names when `kind` ('gpu'/'cpu') is known; None when no spec names it."""
        if not isinstance(hardware, str) or not hardware.strip():
            return None
        # 'Intel(R) Xeon(R) 6980P' -> 'Intel Xeon 6980P', so spec aliases match the model string
        text = re.sub(r"\((?:r|tm)\)", "", hardware, flags=re.I)
        text = re.sub(r"\s+", " ", text).strip()
        best, best_len = None, 0
        for spec in self.devices.values():
            if kind and (spec.kind == "cpu") != (kind == "cpu"):
                continue
            for cand in (spec.key, spec.name, *spec.aliases):
                cand = str(cand).replace("_", " ") if cand == spec.key and "_" in str(cand) else str(cand)
                if (key(cand) == key(text) or has_word(text, cand)) and len(cand) > best_len:
                    best, best_len = spec, len(cand)
        return best

    def with_measured_cpus(self, models) -> "Hardware":
        """A copy that also knows these recorded CPU model strings as devices (those no spec describes), so a
        claim naming the machine's own CPU ('AMD EPYC', 'Xeon Gold 6430') resolves to the rows measured on it."""
        extra = {}
        for m in models:
            if self.identify(m, "cpu") is None and cpu_model_words(m):
                k = measured_cpu_key(m)
                name = " ".join(re.sub(r"\((?:r|tm)\)", "", m, flags=re.I).split())
                extra[k] = DeviceSpec(key=k, name=name, kind="cpu", aliases=(m, " ".join(cpu_model_words(m))))
        return replace(self, devices={**self.devices, **extra}) if extra else self

    def is_cpu(self, name) -> bool:
        """Whether a device name means a CPU (generic 'cpu' or a CPU spec)."""
        if name is None:
            return False
        n = str(name).strip().lower()
        if n in GENERIC_CPU or n.startswith("cpu") or self.cpu_class(n) is not None:
            return True
        spec = self.resolve(n)
        return spec is not None and spec.kind == "cpu"

    def gflop(self, model) -> float | None:
        """GFLOP per item of a model, or None when unknown."""
        if model is None:
            return None
        entry = self.models.get(key(model))
        return None if entry is None else float(entry["gflop_per_item"])

    def backend_names(self, backend) -> set[str]:
        """Benchmark backend names that measure a claim's backend."""
        b = str(backend).strip().lower()
        for name, aliases in self.backends.items():
            names = {name, *aliases}
            if b in names or key(b) in {key(x) for x in names}:
                return {key(x) for x in names}
        return {key(b)}

    def method_names(self, method) -> set[str]:
        """moe_routing strategy names that measure a claim's routing method."""
        m = str(method).strip().lower()
        for name, aliases in self.methods.items():
            if m == name or key(m) == key(name):
                return {key(x) + ("*" if str(x).endswith("*") else "") for x in (name, *aliases)}
        return {key(m)}


# What a CPU model string says besides its model: trademarks, 'CPU', core counts, the clock.
_CPU_NOISE = re.compile(r"\((?:r|tm)\)|\b(?:cpu|processor|\d+-core)\b|@\s*[\d.]+\s*ghz", re.I)
_VENDORS = {"intel", "amd"}


def cpu_model_words(model: str) -> list[str]:
    """The words that identify a recorded CPU model ('Intel(R) Xeon(R) Gold 6430' -> Xeon, Gold, 6430)."""
    return [w for w in re.findall(r"[A-Za-z0-9]+", _CPU_NOISE.sub(" ", str(model))) if w.lower() not in _VENDORS]


def measured_cpu_key(model: str) -> str:
    """The device name a claim gets when it names a measured CPU model ('cpu_xeongold6430')."""
    return "cpu_" + key(" ".join(cpu_model_words(model)))


def resolve_named_cpus(hw: "Hardware", claims: pd.DataFrame, cpu_models) -> tuple["Hardware", pd.DataFrame]:
    """Claims whose sentence names a measured CPU by its model, where the extracted device is only a CPU or a
    CPU family ('cpu', 'xeon'), get that CPU as their device; the hardware then knows it (with_measured_cpus)."""
    models = sorted({str(m) for m in cpu_models if isinstance(m, str) and cpu_model_words(m)})
    if not models or claims is None or claims.empty or "sentence" not in claims.columns:
        return hw, claims
    claims, named = claims.copy(), set()
    for prefix in ("subject", "baseline"):
        col = f"{prefix}_device"
        if col not in claims.columns:
            continue
        for i, (device, sentence) in enumerate(zip(claims[col], claims["sentence"])):
            if not isinstance(device, str) or not hw.is_cpu(device) or hw.resolve(device) is not None:
                continue
            hits = [m for m in models if all(has_word(str(sentence), w) for w in cpu_model_words(m))]
            if len(hits) == 1:  # one measured CPU named: that one (two would be ambiguous)
                claims.iloc[i, claims.columns.get_loc(col)] = measured_cpu_key(hits[0])
                named.add(hits[0])
    return (hw.with_measured_cpus(sorted(named)), claims) if named else (hw, claims)


@lru_cache(maxsize=8)
def load_hardware(path: str | None = None) -> Hardware:
    """Read config/devices.yaml (or `path`) into a Hardware object."""
    p = Path(path or DEFAULT_DEVICES_PATH)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise HardwareSpecError(f"hardware spec file {p} not found; set verdicts.devices_file") from exc
    except yaml.YAMLError as exc:
        raise HardwareSpecError(f"hardware spec file {p} is not valid YAML: {exc}") from exc
    devices = {}
    for name, entry in (raw.get("devices") or {}).items():
        if not isinstance(entry, dict):
            raise HardwareSpecError(f"devices.yaml: devices.{name} must be a mapping")
        try:
            devices[str(name)] = DeviceSpec(key=str(name), name=entry.get("name", name), kind=entry.get("kind", "cuda"),
                                            aliases=tuple(entry.get("aliases") or ()),
                                            peak_tflops=dict(entry.get("peak_tflops") or {}),
                                            memory_gbs=entry.get("memory_gbs"), tdp_w=entry.get("tdp_w"))
        except TypeError as exc:
            raise HardwareSpecError(f"devices.yaml: devices.{name}: {exc}") from exc
    models = {key(m): v for m, v in (raw.get("models") or {}).items()}
    for m, v in models.items():
        if not isinstance(v, dict) or not isinstance(v.get("gflop_per_item"), (int, float)):
            raise HardwareSpecError(f"devices.yaml: models.{m}.gflop_per_item must be a number")
    classes = {}
    for name, entry in (raw.get("cpu_classes") or {}).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("aliases", []), list) \
                or not isinstance(entry.get("members", []), list):
            raise HardwareSpecError(f"devices.yaml: cpu_classes.{name} must map name, aliases (a list) and members "
                                    "(a list of words of CPU model strings)")
        classes[str(name)] = CpuClass(key=str(name), name=str(entry.get("name", name)),
                                      aliases=tuple(map(str, entry.get("aliases") or ())),
                                      members=tuple(map(str, entry.get("members") or ())))
    return Hardware(devices=devices, models=models, backends=dict(raw.get("backends") or {}),
                    methods={str(k).lower(): v for k, v in (raw.get("methods") or {}).items()}, cpu_classes=classes)
