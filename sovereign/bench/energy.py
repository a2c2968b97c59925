"""Energy of the timed window only: meters that add up the energy of timed segments, never warm-up.

A meter is opened around a whole point (so a GPU sampler thread can run) but only the
stretches inside `segment()` count: the protocols enter a segment after warm-up and
compilation and leave it with the last timed iteration. The summary states the window's
length and the method; energy is None with the reason when there is no counter or when
the window is shorter than ENERGY_MIN_WINDOW_S (10 s) or ten sensor update periods,
whichever is longer: over shorter windows sampled power x time and the counter were seen
to disagree by up to 58%, over 10-40 s windows within 2%.

CPU rows read RAPL package counters under /sys/class/powercap (intel-rapl:N/energy_uj;
AMD hosts expose them there too on recent kernels); GPU rows use NVML (sovereign.bench.nvml).
"""
from __future__ import annotations

import contextlib
import time
from pathlib import Path

POWERCAP_ROOT = Path("/sys/class/powercap")
# Shortest timed window an energy figure is reported for (also at least 10 sensor update periods).
ENERGY_MIN_WINDOW_S = 10.0


class EnergyMeter:
    """Base meter: counts timed segments and their length; subclasses say how energy is read."""

    source = "none"
    update_period_s = 0.0

    def __init__(self, reason: str = "", clock=time.perf_counter, min_window_s: float = ENERGY_MIN_WINDOW_S):
        self.reason = reason
        self.clock = clock  # a seam: tests drive the window's length
        self.min_window_s = min_window_s
        self.window_s = 0.0
        self.segments = 0
        self._energy_j = 0.0
        self._ok = not reason

    def __enter__(self) -> "EnergyMeter":
        return self

    def __exit__(self, *exc) -> bool:
        return False

    def _read_j(self):
        """The counter now (any value `_delta_j` understands), None when unreadable."""
        return None

    def _delta_j(self, e0, e1) -> float:
        return e1 - e0

    @contextlib.contextmanager
    def segment(self):
        """Bracket one stretch of timed iterations; its energy and length are added up."""
        e0 = self._read_j() if self._ok else None
        t0 = self.clock()
        try:
            yield
        finally:
            self.window_s += self.clock() - t0
            self.segments += 1
            e1 = self._read_j() if self._ok else None
            if e0 is None or e1 is None:
                self._ok = False
                self.reason = self.reason or f"{self.source} counter could not be read"
            else:
                self._energy_j += self._delta_j(e0, e1)

    def required_window_s(self) -> float:
        """The shortest timed window this meter reports energy for."""
        return max(self.min_window_s, 10 * self.update_period_s)

    def summary(self) -> dict:
        """energy_j (None with energy_note when not measurable), the window's length, the method."""
        out = {"energy_window_s": self.window_s, "energy_segments": self.segments, "energy_source": self.source,
               "energy_update_period_s": self.update_period_s}
        energy, note = (self._energy_j if self._ok else None), self.reason
        need = self.required_window_s()
        if energy is not None and self.window_s < need:
            energy, note = None, (f"timed window {self.window_s:.4g} s is too short for energy: it needs at least "
                                  f"{need:g} s ({self.min_window_s:g} s, or 10 update periods of the {self.source} "
                                  f"sensor ({self.update_period_s:g} s), whichever is longer)")
        out.update(energy_j=energy, energy_note=note, energy_min_window_s=need)
        return out


class RaplMeter(EnergyMeter):
    """CPU package energy from RAPL counters (microjoules, wrapping at max_energy_range_uj)."""

    source = "rapl"
    update_period_s = 0.001  # RAPL counters update about every millisecond

    def __init__(self, root: Path | str | None = None, read_uj=None, min_window_s: float = ENERGY_MIN_WINDOW_S):
        root = Path(root or POWERCAP_ROOT)
        self.read_uj = read_uj  # a seam: a callable returning each package's counter (tests drive a known power)
        # top-level packages only (intel-rapl:0, not the core/dram sub-zones intel-rapl:0:0)
        self.zones = sorted(p for p in root.glob("intel-rapl:*") if p.name.count(":") == 1
                            and (p / "energy_uj").exists())
        reason = "" if self.zones else f"no RAPL energy counters under {root} (intel-rapl:N/energy_uj)"
        super().__init__(reason, min_window_s=min_window_s)
        self.ranges = [self._int(z / "max_energy_range_uj") for z in self.zones]
        if self.zones and self._read_j() is None:
            self._ok, self.reason = False, f"RAPL counters under {root} are not readable (permissions?)"

    @staticmethod
    def _int(path: Path) -> int | None:
        try:
            return int(path.read_text().strip())
        except (OSError, ValueError):
            return None

    def _read_j(self):
        # per-zone raw counters, so one zone wrapping around its range does not corrupt the sum
        values = list(self.read_uj()) if self.read_uj else [self._int(z / "energy_uj") for z in self.zones]
        return None if any(v is None for v in values) else values

    def _delta_j(self, e0: list, e1: list) -> float:
        total = 0
        for b, a, rng in zip(e0, e1, self.ranges):
            total += a - b if a >= b else a + (rng or 0) - b
        return total / 1e6


def energy_meter(kind: str, uuid: str = "", min_window_s: float = ENERGY_MIN_WINDOW_S) -> EnergyMeter:
    """The meter for a device kind: NVML on a CUDA device, RAPL on a CPU (None-with-reason when absent); it reports
    energy only for timed windows of at least `min_window_s` (and 10 sensor periods)."""
    if kind == "cuda":
        from .nvml import PowerMonitor

        return PowerMonitor(uuid=uuid, min_window_s=min_window_s)
    return RaplMeter(min_window_s=min_window_s)
