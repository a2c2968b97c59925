"""Strategy names and settings (no torch, so the workflow can read them while it parses)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import BenchConfigError

EMPTY = -1
_NAME = re.compile(r"^(?:topk(?P<k>[0-9]+)|topp(?P<p>0?\.[0-9]+|1(?:\.0+)?)|(?P<ondemand>ondemand)"
                   r"|budget(?P<share>[0-9]*\.?[0-9]+)top(?P<ref>[0-9]+))$")


@dataclass(frozen=True)
class OnDemandConfig:
    """Budgeted on-demand routing: slots in [k_min, k_max] by importance; virtual share capped."""

    k_min: int = 1
    k_max: int = 4
    virtual_cap: float = 0.2
    virtual_threshold: float = 0.5
    key: str = "bench.suites.moe_routing.ondemand"

    def __post_init__(self):
        if not (isinstance(self.k_min, int) and 1 <= self.k_min <= self.k_max):
            raise BenchConfigError(f"config key '{self.key}.k_min': need 1 <= k_min <= k_max, got {self.k_min!r}, {self.k_max!r}")
        if not 0.0 <= self.virtual_cap < 1.0:
            raise BenchConfigError(f"config key '{self.key}.virtual_cap': expected a share in [0, 1), got {self.virtual_cap!r}")
        if not 0.0 <= self.virtual_threshold <= 1.0:
            raise BenchConfigError(f"config key '{self.key}.virtual_threshold': expected a number in [0, 1], got {self.virtual_threshold!r}")


@dataclass(frozen=True)
class Strategy:
    """A parsed strategy name: 'topk2', 'topp0.5' (cap `max_k`), 'ondemand' (with its budget), or
    'budget0.6top2': a claimed activation budget, here 0.6 x top-2's real activations per token."""

    name: str
    kind: str
    k: int = 0
    p: float = 0.0
    max_k: int = 0
    ondemand: OnDemandConfig | None = None
    share: float = 0.0

    @property
    def budget_per_token(self) -> float:
        """Real expert activations per token a budget strategy spends on average (share x reference k)."""
        return self.share * self.k

    @property
    def max_slots(self) -> int:
        """Slots per token this strategy can fill at most."""
        if self.kind == "budget":
            return max(1, math.ceil(round(self.budget_per_token, 9)))
        return {"topk": self.k, "topp": self.max_k}.get(self.kind) or self.ondemand.k_max


def parse_strategy(name: str, experts: int, topp_max_k: int = 4, ondemand: OnDemandConfig | None = None,
                   key: str = "bench.suites.moe_routing.strategies") -> Strategy:
    """Parse a strategy name against a block with `experts` experts; a bad name raises naming the key."""
    m = _NAME.match(str(name))
    if not m:
        raise BenchConfigError(f"config key '{key}': {name!r} is not a strategy; use topk<k> (e.g. topk2), "
                               "topp<p> (e.g. topp0.5), ondemand or budget<share>top<k> (e.g. budget0.6top2)")
    if m.group("k"):
        k = int(m.group("k"))
        if not 1 <= k <= experts:
            raise BenchConfigError(f"config key '{key}': {name!r} needs 1 <= k <= experts ({experts})")
        return Strategy(name=name, kind="topk", k=k)
    if m.group("p"):
        p = float(m.group("p"))
        if not 0.0 < p <= 1.0 or not 1 <= topp_max_k <= experts:
            raise BenchConfigError(f"config key '{key}': {name!r} needs 0 < p <= 1 and 1 <= topp_max_k <= experts ({experts})")
        return Strategy(name=name, kind="topp", p=p, max_k=topp_max_k)
    if m.group("share"):
        share, ref = float(m.group("share")), int(m.group("ref"))
        if not 0.0 < share <= 1.0 or not 1 <= ref <= experts:
            raise BenchConfigError(f"config key '{key}': {name!r} needs a share in (0, 1] of top-<k> activations with "
                                   f"1 <= k <= experts ({experts})")
        return Strategy(name=name, kind="budget", k=ref, share=share)
    od = ondemand or OnDemandConfig()
    if od.k_max > experts:
        raise BenchConfigError(f"config key '{od.key}.k_max': {od.k_max} exceeds the block's {experts} experts")
    return Strategy(name=name, kind="ondemand", ondemand=od)
