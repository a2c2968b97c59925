"""Hardware plausibility: a claim's implied share of the device's peak, a device ratio against the ratio of peaks."""
from __future__ import annotations

import math

from ..units import UnitError, to_ms
from .hardware import Hardware
from .match import clean, parse_batch

# No figure can need more than the device's whole peak, whatever verdicts.utilization_bound says.
CEILING = 1.0

BANDWIDTH_UNITS = {"tb/s": 1000.0, "gb/s": 1.0}


def as_number(v) -> float | None:
    """A float, or None for missing, non-numeric or NaN values."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _out(plausibility: str, utilization=None, reason: str = "") -> dict:
    return {"plausibility": plausibility, "utilization": utilization, "reason": reason}


def implied_utilization(ips: float, device: str, model: str, precision: str | None, hw: Hardware, cfg) -> dict:
    """Utilisation of peak implied by `ips` items/s of `model` on `device`, with the arithmetic."""
    spec, gflop = hw.resolve(device), hw.gflop(model)
    if spec is None or gflop is None:
        missing = f"no peak rates for {device}" if spec is None else f"no GFLOP per item for {model}"
        return _out("unknown", None, f"{missing} in config/devices.yaml")
    peak = spec.peak(precision)
    if peak is None:
        return _out("unknown", None, f"no {precision} peak for {spec.key} in config/devices.yaml")
    prec, tflops = peak
    achieved = ips * gflop / 1000.0
    util = achieved / tflops
    unit = "TOPS" if prec == "int8" else "TFLOP/s"
    which = "" if precision else " (highest peak, precision not stated)"
    arith = (f"{ips:,.0f} items/s x {gflop:g} GFLOP = {achieved:,.1f} {unit} = {util:.1%} of the {spec.key} "
             f"{prec} peak {tflops:g} {unit}{which}")
    if util > CEILING:
        return _out("implausible", util, f"{arith}, above the {cfg.utilization_bound:.0%} bound and above 100% of "
                                         "the peak: impossible")
    if util > cfg.utilization_bound:
        return _out("implausible", util, f"{arith}, above the {cfg.utilization_bound:.0%} bound")
    return _out("plausible", util, arith)


def device_ratio(claimed: float, dev_a: str, dev_b: str, precision: str | None, hw: Hardware, cfg,
                 precision_b: str | None = None) -> dict:
    """A claimed device-to-device ratio as utilisations: ratio = (u_a x peak_a) / (u_b x peak_b).

    Each side's utilisation of its peak lies in [utilization_min, utilization_bound]. The ratio is
    implausible only when no pair in those bounds produces it (above u_max peak_a / u_min peak_b), and
    questionable when, with the subject at u_max, the baseline would have to run under
    `baseline_utilization_floor` of its peak. Each side is taken at its own precision (`precision` for the
    subject, `precision_b` for the baseline, each defaulting to the other); without either, the most
    favourable common one is used."""
    a, b = hw.resolve(dev_a), hw.resolve(dev_b)
    if a is None or b is None:
        return _out("unknown", None, f"no peak rates for {dev_a if a is None else dev_b} in config/devices.yaml")
    pa_name, pb_name = precision or precision_b, precision_b or precision
    if pa_name:
        pa, pb = a.peak(pa_name), b.peak(pb_name)
        if not (pa and pb):
            return _out("unknown", None, f"no {pa_name} peak for {a.key} or no {pb_name} peak for {b.key}")
        pairs = {pa[0] if pa[0] == pb[0] else f"{pa[0]}/{pb[0]}": (pa[1], pb[1])}
    else:
        pairs = {}
        for p in sorted(set(a.peak_tflops) & set(b.peak_tflops)):
            pa, pb = a.peak(p), b.peak(p)
            if pa and pb:
                pairs[pa[0]] = (pa[1], pb[1])
    if not pairs:
        return _out("unknown", None, f"no common peak rates for {a.key} and {b.key}")
    prec, (peak_a, peak_b) = max(pairs.items(), key=lambda kv: kv[1][0] / kv[1][1])
    u_max, u_min, floor = cfg.utilization_bound, cfg.utilization_min, cfg.baseline_utilization_floor
    peak_ratio = peak_a / peak_b
    most = u_max / u_min * peak_ratio
    needed_b = u_max * peak_ratio / claimed if claimed > 0 else math.inf
    which = "" if pa_name else " (most favourable common precision)"
    arith = (f"ratio = (u_{a.key} x {peak_a:g}) / (u_{b.key} x {peak_b:g}) {prec} peaks{which}; peak ratio "
             f"{peak_ratio:.2f}; with {a.key} at the {u_max:.0%} bound, {claimed:g}x needs {b.key} at "
             f"{u_max:.0%} x {peak_ratio:.2f} / {claimed:g} = {needed_b:.1%} of its peak")
    if claimed > most:
        return _out("implausible", needed_b, f"{arith}; no pair within [{u_min:.0%}, {u_max:.0%}] reaches it "
                                         f"(at most {u_max:.0%}/{u_min:.0%} x {peak_ratio:.2f} = {most:.1f}x)")
    if needed_b < floor:
        return _out("questionable", needed_b, f"{arith}, under the {floor:.0%} floor: possible only if the "
                                              f"{b.key} baseline ran far from its peak")
    return _out("plausible", needed_b, arith)


def spec_value(claim: dict, hw: Hardware, cfg) -> dict:
    """A datasheet claim (bandwidth) against config/devices.yaml."""
    spec, value = hw.resolve(clean(claim.get("subject_device"))), as_number(claim.get("value"))
    unit = clean(claim.get("unit"))
    if spec is None or value is None or clean(claim.get("metric")) != "bandwidth" or unit not in BANDWIDTH_UNITS:
        return _out("unknown", None, "")
    if not spec.memory_gbs:
        return _out("unknown", None, f"no memory bandwidth for {spec.key} in config/devices.yaml")
    gbs = value * BANDWIDTH_UNITS[unit]
    r = gbs / spec.memory_gbs
    ok = abs(r - 1) <= cfg.tolerance
    return _out("plausible" if ok else "implausible", None,
                f"claimed {gbs:,.0f} GB/s vs datasheet {spec.memory_gbs:,.0f} GB/s for {spec.key} (ratio {r:.2f})")


def assess(claim: dict, hw: Hardware, cfg) -> dict:
    """Plausibility of one claim: 'plausible', 'implausible', 'unknown' or 'n/a', with the arithmetic."""
    from .llm_plausibility import assess_llm  # here: llm_plausibility imports this module
    llm = assess_llm(claim, hw, getattr(cfg, "devices_file", None))  # LLM serving: fit, bandwidth, prefill bounds
    if llm is not None:
        return llm
    kind, metric = clean(claim.get("kind")), clean(claim.get("metric"))
    dev, model = clean(claim.get("subject_device")), clean(claim.get("subject_model"))
    prec = clean(claim.get("subject_precision"))
    value = as_number(claim.get("value"))
    if kind == "spec":
        return spec_value(claim, hw, cfg)
    if kind == "absolute" and metric == "throughput" and value and dev and model:
        return implied_utilization(value, dev, model, prec, hw, cfg)
    if kind == "absolute" and metric and metric.startswith("latency") and value and dev and model:
        batch = parse_batch(clean(claim.get("subject_batch"))) or (1, 1)
        try:
            ms = to_ms(value, claim.get("unit"))
        except UnitError as exc:
            return _out("unknown", None, str(exc))
        if ms > 0:
            return implied_utilization(batch[0] * 1000.0 / ms, dev, model, prec, hw, cfg)
    base_dev = clean(claim.get("baseline_device"))
    if kind in ("ratio", "change") and metric in ("throughput", "speedup") and dev and base_dev and dev != base_dev:
        ratio = value
        v_from, v_to = as_number(claim.get("value_from")), as_number(claim.get("value_to"))
        if kind == "change" and v_from and v_to:
            ratio = v_to / v_from
        if ratio and clean(claim.get("unit")) in (None, "x"):
            if hw.is_cpu(base_dev) and hw.resolve(base_dev) is None:
                return _out("unknown", None, f"the baseline CPU ({base_dev}) is not specified well enough for peak rates")
            return device_ratio(ratio, dev, base_dev, prec, hw, cfg, clean(claim.get("baseline_precision")))
    return _out("n/a", None, "")
