"""One comparison rule for every relative or absolute claim, over a range of admissible configurations.

A relative claim (ratio `x`, percent change, from/to) becomes one speed-up in the direction of its
metric: throughput subject/baseline, latency baseline/subject. A percent change p of the metric is
1 + p/100 on a higher-is-better metric and 1 / (1 + p/100) on a lower-is-better one; from/to is
to/from or from/to alike. The claim's qualifier then decides over the admissible configurations
(every pairing of the dimensions the claim leaves open):

- exact / approx: REPRODUCED when some configuration is within the tolerance of the claim;
- up_to: the best configuration is compared, within the tolerance; a best above the claim is
  NOT_REPRODUCED (the claim states a different maximum) but never a contradiction;
- at_least: some configuration reaches the claim less the tolerance;
- at_most: some configuration stays under the claim plus the tolerance.

A measurement is known only to within its repeats' own spread (the relative range of the repeat
medians, `repeat_medians_ms`, at most 10% a row): a configuration holds when the claim is within the
tolerance plus that spread (both sides' spreads for a speed-up). So a claim at the tolerance's edge does not flip between
REPRODUCED and NOT_REPRODUCED from one run to the next on noise the repeats have already shown.

A claim is contradicted only when it lies outside the measured range of all admissible
configurations by more than the contradiction factor, on the side its qualifier speaks about.
"""
from __future__ import annotations

import json
import math

SIDES = {"exact": ("above", "below"), "approx": ("above", "below"), "up_to": ("above",), "at_least": ("above",),
         "at_most": ("below",)}


def qualifier_of(q) -> str:
    """The qualifier the rule knows ('exact' for a missing or unknown one)."""
    return q if q in SIDES else "exact"


def claimed_speedup(higher: bool, percent: float | None = None, v_from: float | None = None,
                    v_to: float | None = None, ratio: float | None = None) -> float | None:
    """The claim as one speed-up in the metric's direction (None when it cannot be one, e.g. -100%)."""
    if ratio is not None:
        return ratio
    if percent is not None:
        factor = 1 + percent / 100
        return None if factor <= 0 else (factor if higher else 1 / factor)
    if v_from and v_to:
        return v_to / v_from if higher else v_from / v_to
    return None


def speedup_terms(qualifier, target: float | None) -> tuple[str, bool]:
    """(qualifier, best is the largest) of a relative claim once it is a speed-up: a claimed slowdown (target
    below 1: "TPOT rises by at most 10%" is at least 0.91x) swaps at_least and at_most, and its up_to speaks of
    the smallest speed-up ("throughput drops by up to 30%": the worst configuration, 0.7x)."""
    q = qualifier_of(qualifier)
    if target is None or target >= 1:
        return q, True
    return {"at_least": "at_most", "at_most": "at_least"}.get(q, q), False


def percent_of(speedup: float, higher: bool) -> float:
    """A speed-up back as the percent change of the metric it was made from."""
    return (speedup - 1) * 100 if higher else (1 / speedup - 1) * 100


def holds(value: float, claimed: float, qualifier: str, tol: float) -> bool:
    """Whether one measured value supports the claim under its qualifier, within `tol` (relative)."""
    q = qualifier_of(qualifier)
    if q == "at_least":
        return value >= claimed * (1 - tol)
    if q == "at_most":
        return value <= claimed * (1 + tol)
    return abs(value / claimed - 1) <= tol if claimed else abs(value) <= tol


# The widest spread one row lends its tolerance: timing.repeat_spread's default, the bound within which repeats
# agree. A row whose repeats spread wider is unconfirmed: it must not buy itself a wider tolerance.
MAX_ROW_SPREAD = 0.10


def repeat_spread(row) -> float:
    """The relative range of a row's repeat medians ((max - min) / median), at most MAX_ROW_SPREAD; 0 without
    a repeat record."""
    text = row.get("repeat_medians_ms") if hasattr(row, "get") else None
    try:
        vals = sorted(float(x) for x in str(text).split(",") if x.strip()) if text is not None else []
    except ValueError:
        return 0.0
    vals = [v for v in vals if math.isfinite(v) and v > 0]
    if len(vals) < 2:
        return 0.0
    return min(MAX_ROW_SPREAD, (vals[-1] - vals[0]) / vals[len(vals) // 2])


def decide(values: dict, claimed: float, qualifier: str, tol: float, best_is_max: bool = True,
           spreads: dict | None = None):
    """(holds, the configuration reported) over {configuration: value}: the best one for up_to, the first
    that holds, else the one closest to the claim (in log ratio). `spreads` widens each configuration's
    tolerance by its measurement's own repeat spread."""
    q = qualifier_of(qualifier)
    widen = (lambda g: tol + (spreads or {}).get(g, 0.0))
    if q == "up_to":
        g = max(values, key=values.get) if best_is_max else min(values, key=values.get)
        return holds(values[g], claimed, "exact", widen(g)), g
    ok = [g for g in values if holds(values[g], claimed, q, widen(g))]
    if ok:
        return True, min(ok, key=lambda g: _distance(values[g], claimed))
    return False, min(values, key=lambda g: _distance(values[g], claimed))


def _distance(value: float, claimed: float) -> float:
    if value > 0 and claimed > 0:
        return abs(math.log(value / claimed))
    return abs(value - claimed)


def contradicts(claimed: float | None, low: float | None, high: float | None, sides, factor: float) -> bool:
    """Whether `claimed` lies outside [low, high] by more than `factor` on one of `sides` ('above'/'below')."""
    if claimed is None or low is None or high is None:
        return False
    if high <= 0:
        return True
    edge = 1 + 1e-9  # exactly `factor` apart is not beyond it (percent arithmetic leaves float dust)
    return ("above" in sides and claimed > factor * high * edge) or ("below" in sides and claimed * edge < low / factor)


def range_fields(claimed: float, values, qualifier: str, lower_is_best: bool = False) -> dict:
    """What check_frame needs to decide a contradiction: the claim and the measured range, in one space."""
    sides = SIDES[qualifier_of(qualifier)]
    if lower_is_best and qualifier_of(qualifier) == "up_to":  # "latency down to X": the best is the minimum
        sides = ("below",)
    vals = [float(v) for v in values]
    return {"_range": (claimed, min(vals), max(vals), sides)} if vals else {}


def check_result(status, reason, claimed=None, measured=None, rows=(), low=None, high=None, util=None,
                 **extra) -> dict:
    """One claim check's fields (the claim_checks columns every check fills), with measured / claimed as ratio."""
    ratio = measured / claimed if measured is not None and claimed not in (None, 0) else None
    return {"status": status, "reason": reason, "claimed_value": claimed, "measured_value": measured,
            "ratio": ratio, "bench_rows": json.dumps(sorted(set(rows))), "claimed_low": low, "claimed_high": high,
            "measured_utilization": util, **extra}
