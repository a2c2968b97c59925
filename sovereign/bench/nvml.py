"""Power, energy, clocks, temperature and utilisation of a GPU during a timed loop, through NVML.

NVML (the nvidia-ml-py package) is imported lazily; where it or the driver is missing the
monitor records why and yields no numbers. Energy comes from the GPU's energy counter read
at the edges of the timed segments (never warm-up); sampled power inside the segments is
kept beside it as a cross-check.
"""
from __future__ import annotations

import contextlib
import threading
import time

from .energy import ENERGY_MIN_WINDOW_S, EnergyMeter


def open_handle(uuid: str = ""):
    """Initialise NVML and return (pynvml, handle) for the GPU with `uuid` (or the first visible one)."""
    import pynvml

    pynvml.nvmlInit()
    if uuid:
        try:
            return pynvml, pynvml.nvmlDeviceGetHandleByUUID(uuid)
        except pynvml.NVMLError:
            pass
    return pynvml, pynvml.nvmlDeviceGetHandleByIndex(0)


class PowerMonitor(EnergyMeter):
    """NVML meter: energy counter across timed segments; a thread samples power/utilisation; clocks/temperature before and after."""

    source = "nvml"
    # Hopper/Ampere report power as a 1 s average and the energy counter moves in coarse steps:
    # shorter windows get no energy figure rather than a wrong one.
    update_period_s = 1.0

    def __init__(self, enabled: bool = True, uuid: str = "", interval_s: float = 0.01,
                 min_window_s: float = ENERGY_MIN_WINDOW_S):
        super().__init__("" if enabled else "not a GPU device", min_window_s=min_window_s)
        self.enabled = enabled
        self.uuid = uuid
        self.interval_s = interval_s
        self._samples: list[tuple[float, float, float]] = []
        self._spans: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._nv = self._handle = None
        self._before: dict = {}

    def _state(self) -> dict:
        nv, h = self._nv, self._handle
        out = {}
        for key, func in (("sm_clock_mhz", lambda: nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM)),
                          ("mem_clock_mhz", lambda: nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_MEM)),
                          ("temperature_c", lambda: nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU)),
                          ("power_w", lambda: nv.nvmlDeviceGetPowerUsage(h) / 1000.0)):
            try:
                out[key] = float(func())
            except Exception:  # a query unsupported on this GPU stays empty
                out[key] = None
        return out

    def _read_j(self):
        try:
            return float(self._nv.nvmlDeviceGetTotalEnergyConsumption(self._handle)) / 1000.0
        except Exception:
            return None

    def _sample(self) -> None:
        nv, h = self._nv, self._handle
        while not self._stop.is_set():
            try:
                power = nv.nvmlDeviceGetPowerUsage(h) / 1000.0
                util = float(nv.nvmlDeviceGetUtilizationRates(h).gpu)
            except Exception:
                power, util = float("nan"), float("nan")
            self._samples.append((time.perf_counter(), power, util))
            self._stop.wait(self.interval_s)

    def __enter__(self) -> "PowerMonitor":
        if not self.enabled:
            self._ok = False
            return self
        try:
            self._nv, self._handle = open_handle(self.uuid)
        except Exception as exc:  # library or driver missing: no power numbers, with the reason
            self.enabled, self._ok = False, False
            self.reason = f"NVML unavailable: {type(exc).__name__}: {exc}"
            return self
        self._before = self._state()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    @contextlib.contextmanager
    def segment(self):
        t0 = time.perf_counter()
        with super().segment():
            yield
        self._spans.append((t0, time.perf_counter()))

    def __exit__(self, exc_type, exc, tb) -> bool:
        if not self.enabled:
            return False
        self._stop.set()
        if self._thread:
            self._thread.join()
        after = self._state()
        inside = [(t, p, u) for t, p, u in self._samples if any(a <= t <= b for a, b in self._spans)]
        powers = [p for _, p, _ in inside if p == p]
        utils = [u for _, _, u in inside if u == u]
        # a cross-check of the counter: mean sampled power inside the window times its length
        sampled = sum(powers) / len(powers) * self.window_s if powers else None
        self.extra = {
            "energy_method": "energy_counter", "energy_j_sampled": sampled,
            "power_w_mean": sum(powers) / len(powers) if powers else None,
            "power_w_max": max(powers) if powers else None,
            "gpu_util_mean": sum(utils) / len(utils) if utils else None,
            "power_samples": len(inside),
            **{f"{k}_before": v for k, v in self._before.items()},
            **{f"{k}_after": v for k, v in after.items()},
        }
        return False

    def summary(self) -> dict:
        """The base summary plus power, utilisation, clocks and temperature."""
        return {**super().summary(), **getattr(self, "extra", {})}
