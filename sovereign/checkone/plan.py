"""Which CNN benchmark jobs test a set of claims, and what would test the claims no job can."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..bench.config import BACKEND_PRECISIONS, MODELS, CnnSuite, devices_from_config
from ..verdicts.hardware import Hardware, key, norm_precision
from ..verdicts.match import clean, parse_batch

CNN_METRICS = {"throughput", "speedup", "latency", "latency_p50", "latency_p90", "latency_p99", "efficiency"}


@dataclass
class Plan:
    """Jobs (model, backend, precision) -> batch sizes to run, and why each untestable claim is."""
    jobs: dict = field(default_factory=dict)
    untestable: dict = field(default_factory=dict)  # claim_id -> what would test it

    def add(self, model: str, backend: str, precision: str, batches: list[int]) -> None:
        self.jobs.setdefault((model, backend, precision), set()).update(batches)


def _names(claim: dict, f: str) -> list[str]:
    return [v for v in (clean(claim.get(f"subject_{f}")), clean(claim.get(f"baseline_{f}"))) if v]


def _baseline_named(claim: dict) -> bool:
    return any(clean(claim.get(f"baseline_{f}")) for f in ("device", "model", "backend", "precision", "method"))


def _backends(claim: dict, hw: Hardware, grid_backends: dict, baseline_backend: str) -> list[str]:
    """The suite backends a claim names (its grid's when it names none); a ratio without a baseline is
    against the configured baseline backend (verdicts.cpu_baseline_backend)."""
    named = _names(claim, "backend")
    if not named:
        return list(grid_backends)
    if clean(claim.get("kind")) == "ratio" and not _baseline_named(claim):
        named.append(baseline_backend)
    out = []
    for b in named:  # 'PyTorch' is eager and compiled: the device grid's backend of the two, else the first
        hits = [x for x in BACKEND_PRECISIONS if key(x) in hw.backend_names(b)]
        pick = [x for x in hits if x in grid_backends][:1] or hits[:1]
        out += [x for x in pick if x not in out]
    return out


def _precisions(claim: dict, backend: str, grid_backends: dict, baseline_precision: str) -> list[str]:
    """The precisions a claim names (its grid's for the backend when none); a ratio without a baseline is
    against the configured baseline precision."""
    named = [norm_precision(p) for p in _names(claim, "precision")]
    if clean(claim.get("kind")) == "ratio" and named and not _baseline_named(claim):
        named.append(baseline_precision)
    wanted = named or list(grid_backends.get(backend) or ["fp32"])
    return [p for p in dict.fromkeys(wanted) if p in BACKEND_PRECISIONS[backend]]


def plan_checks(claims: list[dict], config: dict, device: str, hw: Hardware) -> Plan:
    """The smallest CNN grid on `device` whose rows test the claims; each claim outside it says why."""
    devices = devices_from_config(config)
    grid = CnnSuite.from_config(config["bench"]["suites"]["cnn"]).grid(devices[device])
    vcfg = config.get("verdicts", {})
    base_backend = vcfg.get("cpu_baseline_backend", "pytorch")
    base_precision = norm_precision(vcfg.get("cpu_baseline_precision", "fp32"))
    plan = Plan()
    for c in claims:
        cid, metric, kind = c["claim_id"], clean(c.get("metric")), clean(c.get("kind"))
        models = [key(m) for m in _names(c, "model")]
        cnn_models = [m for m in models if m in MODELS]
        if kind in (None, "not_empirical", "not_a_claim"):
            plan.untestable[cid] = "not an empirical claim: nothing to measure"
            continue
        if metric not in CNN_METRICS:
            plan.untestable[cid] = (f"this command runs the CNN suite, which measures throughput and latency; a "
                                    f"{metric or 'claim without a metric'} claim needs a suite that measures it")
            continue
        if models and not cnn_models:
            plan.untestable[cid] = (f"the CNN suite runs {', '.join(MODELS)}; {', '.join(models)} would be tested "
                                    "by a suite that runs it (the workflow's studies with that suite)")
            continue
        names = _names(c, "device")
        others = [d for d in names if not hw.is_cpu(d)] if devices[device].kind == "cpu" else []
        if others:
            plan.untestable[cid] = (f"names {', '.join(others)}; a run with --device set to a device entry of that "
                                    "hardware (devices: in the config) would test it")
            continue
        if devices[device].kind == "cpu" and kind == "ratio" and not clean(c.get("subject_device")) \
                and any(hw.is_cpu(d) for d in _names(c, "device")):
            plan.untestable[cid] = ("compares an accelerator with a CPU baseline; a run with --device set to a GPU "
                                    "entry (devices: in the config) would test it")
            continue
        batch = parse_batch(c.get("subject_batch"))
        batches = sorted({batch[0], batch[1]}) if batch else list(grid.batch_sizes)
        backends = [b for b in _backends(c, hw, grid.backends, base_backend) if b in BACKEND_PRECISIONS]
        added = False
        for m in cnn_models or list(grid.models[:1]):
            for b in backends:
                for p in _precisions(c, b, grid.backends, base_precision):
                    plan.add(m, b, p, batches)
                    added = True
        if not added:
            plan.untestable[cid] = ("no backend of the CNN suite runs the backend and precision it names "
                                    f"({', '.join(_names(c, 'backend') + _names(c, 'precision'))})")
    return plan
