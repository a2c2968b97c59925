"""One parser of time units for the whole package (sovereign/units.py), and the claim reader that uses it."""
from __future__ import annotations

import pytest

from sovereign.claims.numbers import prepare, scan
from sovereign.units import UnitError, time_unit, to_ms

# (unit as written, value, milliseconds)
UNITS = [("\u00b5s", 250, 0.25), ("\u03bcs", 250, 0.25), ("us", 250, 0.25), ("usec", 250, 0.25), ("ms", 4, 4.0),
         ("MS", 4, 4.0), ("s", 2, 2000.0), ("sec", 2, 2000.0), ("seconds", 2, 2000.0), ("ns", 5e5, 0.5),
         (None, 7, 7.0), ("", 7, 7.0)]


@pytest.mark.parametrize("unit,value,ms", UNITS, ids=[repr(u[0]) for u in UNITS])
def test_time_units_read_as_milliseconds(unit, value, ms):
    assert to_ms(value, unit) == pytest.approx(ms)


def test_an_unknown_time_unit_is_an_error_naming_it():
    with pytest.raises(UnitError, match="unknown time unit 'images/s'"):
        time_unit("images/s")


@pytest.mark.parametrize("text", ["latency of 120 \u00b5s per image", "latency of 120 \u03bcs per image",
                                  "latency of 120 us per image"])
def test_claims_read_every_micro_spelling(text):
    units = [q.unit for q in scan(prepare(text)) if q.value == 120]
    assert units == ["\u00b5s"]
