"""The one parser of time units for the whole package: 'ns', 'µs'/'μs'/'us', 'ms', 's' to milliseconds."""
from __future__ import annotations

# Both micro characters: U+00B5 (micro sign, what keyboards type) and U+03BC (Greek mu, what NFKC makes of it).
MICRO = "u\u00b5\u03bc"
MS_PER = {"ns": 1e-6, "nsec": 1e-6, "us": 1e-3, "usec": 1e-3, "ms": 1.0, "msec": 1.0, "s": 1000.0, "sec": 1000.0,
          "secs": 1000.0, "second": 1000.0, "seconds": 1000.0, "millisecond": 1.0, "milliseconds": 1.0,
          "microsecond": 1e-3, "microseconds": 1e-3}


class UnitError(ValueError):
    """A time unit no parser knows (the message names it and the known ones)."""


def time_unit(unit) -> str:
    """The canonical spelling of a time unit: 'ns', 'us', 'ms' or 's'; a missing unit is 'ms'."""
    u = "" if unit is None else str(unit).strip().lower()
    if not u or u == "nan":
        return "ms"
    if u[0] in MICRO and u[1:] in ("s", "sec"):
        u = "us"
    if u not in MS_PER:
        raise UnitError(f"unknown time unit {unit!r}; use one of ns, µs (or μs, us), ms, s")
    factor = MS_PER[u]
    return {1e-6: "ns", 1e-3: "us", 1.0: "ms", 1000.0: "s"}[factor]


def to_ms(value: float, unit) -> float:
    """`value` in `unit` as milliseconds ('ms' when the unit is missing); UnitError for an unknown unit."""
    return value * MS_PER[time_unit(unit)]
