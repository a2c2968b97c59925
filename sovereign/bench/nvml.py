"""Power, energy, clocks, temperature and utilisation of a GPU during a timed loop, through NVML.

NVML (the nvidia-ml-py package) is imported lazily; where it or the driver is missing the
monitor records why and yields no numbers. Energy comes from the GPU's energy counter
when it advances over the loop, else from integrating the sampled power.
"""
from __future__ import annotations

import threading
import time


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


class PowerMonitor:
    """Context manager: samples power and utilisation in a thread; reads clocks/temperature before and after."""

    COUNTER_MIN_S = 1.0

    def __init__(self, enabled: bool = True, uuid: str = "", interval_s: float = 0.01):
        self.enabled = enabled
        self.uuid = uuid
        self.interval_s = interval_s
        self.reason = "" if enabled else "not a GPU device"
        self.summary: dict = {}
        self._samples: list[tuple[float, float, float]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._nv = self._handle = None

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

    def _energy_mj(self):
        try:
            return float(self._nv.nvmlDeviceGetTotalEnergyConsumption(self._handle))
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
            return self
        try:
            self._nv, self._handle = open_handle(self.uuid)
        except Exception as exc:  # library or driver missing: no power numbers, with the reason
            self.enabled = False
            self.reason = f"NVML unavailable: {type(exc).__name__}: {exc}"
            return self
        self._before = self._state()
        self._e0 = self._energy_mj()
        self._t0 = time.perf_counter()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if not self.enabled:
            return False
        self._stop.set()
        if self._thread:
            self._thread.join()
        elapsed = time.perf_counter() - self._t0
        e1 = self._energy_mj()
        after = self._state()
        powers = [p for _, p, _ in self._samples if p == p]
        utils = [u for _, _, u in self._samples if u == u]
        counter = (e1 - self._e0) / 1000.0 if self._e0 is not None and e1 is not None and e1 > self._e0 else None
        pts = [(t, p) for t, p, _ in self._samples if p == p]
        sampled = (sum((t1 - t0) * (p0 + p1) / 2 for (t0, p0), (t1, p1) in zip(pts, pts[1:])) * elapsed
                   / (pts[-1][0] - pts[0][0])) if len(pts) >= 2 and pts[-1][0] > pts[0][0] else None
        # The energy counter advances in coarse steps: over short loops the sampled power is the better estimate.
        if counter is not None and (elapsed >= self.COUNTER_MIN_S or sampled is None):
            energy_j, method = counter, "energy_counter"
        else:
            energy_j, method = sampled, "power_samples" if sampled is not None else ""
        self.summary = {
            "energy_j": energy_j, "energy_method": method, "monitor_s": elapsed,
            "energy_j_counter": counter, "energy_j_sampled": sampled,
            "power_w_mean": sum(powers) / len(powers) if powers else None,
            "power_w_max": max(powers) if powers else None,
            "gpu_util_mean": sum(utils) / len(utils) if utils else None,
            "power_samples": len(self._samples),
            **{f"{k}_before": v for k, v in self._before.items()},
            **{f"{k}_after": v for k, v in after.items()},
        }
        return False
