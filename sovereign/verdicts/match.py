"""Match a claim's subject or baseline to benchmark rows, or say exactly what is missing."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from .hardware import Hardware, key, norm_precision

SIDE_FIELDS = ("device", "model", "backend", "precision", "method", "batch")
ROUTING_SUITE = "moe_routing"
CONTEXT_COLUMNS = ("phase", "workload", "dispatch")


def clean(value) -> str | None:
    """None for missing values (None, NaN, empty); otherwise a stripped lower-case string."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    text = str(value).strip().lower()
    return text or None


def side(claim: dict, prefix: str) -> dict:
    """The subject_* or baseline_* fields of a claim as {field: value or None}."""
    return {f: clean(claim.get(f"{prefix}_{f}")) for f in SIDE_FIELDS}


def parse_batch(text: str | None) -> tuple[int, int] | None:
    """'32' -> (32, 32); '16-32' / '16–32' -> (16, 32); None when absent or unreadable."""
    if text is None:
        return None
    nums = [int(float(n)) for n in re.findall(r"\d+(?:\.\d+)?", str(text))]
    if not nums:
        return None
    return (min(nums[:2]), max(nums[:2]))


def row_key(r) -> str:
    """A benchmark row's provenance key: suite/device/model/backend/precision/b<batch>."""
    get = r.get if isinstance(r, dict) else (lambda k: getattr(r, k))
    return f"{get('suite')}/{get('device')}/{get('model')}/{get('backend')}/{get('precision')}/b{int(get('batch_size'))}"


@dataclass
class Selection:
    """Rows that measure one side of a claim (status ok), or why there are none."""
    rows: pd.DataFrame
    missing: str | None = None


class Bench:
    """Benchmark rows normalised for matching against claims."""

    def __init__(self, df: pd.DataFrame, hw: Hardware):
        self.hw = hw
        df = df.copy() if df is not None else pd.DataFrame()
        for col in ("suite", "device", "gpu_name", "model", "backend", "precision", "status", "reason"):
            if col not in df.columns:
                df[col] = None
        if "batch_size" not in df.columns:
            df["batch_size"] = pd.Series(dtype="int64")
        df = df[df["batch_size"].notna()].copy()
        df["batch_size"] = df["batch_size"].astype(int)
        df["_device"] = df["device"].map(lambda d: clean(d) or "")
        df["_model"] = df["model"].map(lambda m: key(m or ""))
        df["_backend"] = df["backend"].map(lambda b: key(b or ""))
        df["_precision"] = df["precision"].map(lambda p: norm_precision(clean(p)) or "")
        df["_cpu"] = df["_device"].map(hw.is_cpu)
        # what the rows ran on, for reasons: the GPU name, or the CPU model on CPU rows
        names = df["gpu_name"].map(lambda g: g if isinstance(g, str) and g.strip() else None)
        if "cpu_model" in df.columns:
            names = names.where(~(df["_cpu"] & names.isna()), df["cpu_model"])
        df["_hw"] = names
        df["_ok"] = df["status"].map(lambda s: clean(s) == "ok")
        # rows of one configuration may differ in phase, workload or dispatch (moe_routing): never mix them
        ctx = [c for c in CONTEXT_COLUMNS if c in df.columns]
        parts = [df[c].map(lambda v: clean(v) or "") for c in ctx]
        df["_ctx"] = [("/".join(t)) for t in zip(*parts)] if parts and len(df) else ""
        self.df = df.reset_index(drop=True)

    @property
    def devices(self) -> list[str]:
        """Devices that have at least one row."""
        return sorted(set(self.df["_device"]))

    def _device_mask(self, df: pd.DataFrame, device: str) -> tuple[pd.Series, str]:
        hw = self.hw
        spec = hw.resolve(device)
        if spec is None and hw.is_cpu(device):
            return df["_cpu"], f"no {device} results"
        if spec is not None and spec.kind == "cpu":
            names = [key(a) for a in (spec.key, spec.name, *spec.aliases)]
            gpu = df["_hw"].map(lambda g: key(g or ""))
            mask = df["_device"].map(lambda d: hw.resolve(d) is spec) | (df["_cpu"] & gpu.map(
                lambda g: any(n and n in g for n in names)))
            measured = sorted({str(g) for g in df.loc[df["_cpu"], "_hw"].dropna()})
            extra = f" (the cpu rows were measured on {', '.join(measured)})" if measured else " (no cpu rows)"
            return mask, f"no {device} results{extra}"
        if spec is not None:
            return df["_device"].map(lambda d: hw.resolve(d) is spec), f"no {device} results"
        return df["_device"] == device, f"no {device} results"

    def select(self, s: dict, gpu_only: bool = False, suite: str | None = None) -> Selection:
        """Rows matching every field `s` names; otherwise the first field that has none, named."""
        df, where = self.df, ""
        if suite is not None:
            df = df[df["suite"].map(clean) == suite]
            if df.empty:
                return Selection(df, f"no {suite} results")
        if gpu_only:
            df = df[~df["_cpu"]]
            if df.empty:
                return Selection(df, "no gpu results")
            where = " on gpu"
        if s.get("device"):
            mask, why = self._device_mask(df, s["device"])
            df = df[mask]
            if df.empty:
                return Selection(df, why)
            where = f" on {s['device']}"
        if s.get("model"):
            df = df[df["_model"] == key(s["model"])]
            if df.empty:
                return Selection(df, f"no {s['model']} results{where}")
            where = f" for {s['model']}{where}"
        if s.get("method"):
            names = self.hw.method_names(s["method"])
            prefixes = tuple(n[:-1] for n in names if n.endswith("*"))
            df = df[df["_backend"].isin(names) | (df["_backend"].str.startswith(prefixes) if prefixes else False)]
            if df.empty:
                what = s["method"] if "routing" in s["method"] else f"{s['method']} routing"
                return Selection(df, f"no {what} results{where}")
        if s.get("backend"):
            df = df[df["_backend"].isin(self.hw.backend_names(s["backend"]))]
            if df.empty:
                return Selection(df, f"no {s['backend']} results{where}")
        if s.get("precision"):
            df = df[df["_precision"] == norm_precision(s["precision"])]
            if df.empty:
                what = " ".join(x for x in (s.get("backend"), s["precision"]) if x)
                return Selection(df, f"no {what} results{where}")
        batch = parse_batch(s.get("batch"))
        if batch:
            df = df[(df["batch_size"] >= batch[0]) & (df["batch_size"] <= batch[1])]
            if df.empty:
                return Selection(df, f"no batch {s['batch']} results{where}")
        ok = df[df["_ok"]]
        if ok.empty:
            return Selection(ok, self._why_not_ok(df, s))
        return Selection(ok)

    @staticmethod
    def _why_not_ok(df: pd.DataFrame, s: dict) -> str:
        """'tensorrt unavailable on l4: <reason>' from the rows that did not run."""
        first = df.iloc[0]
        what = s.get("backend") or s.get("method") or str(first["backend"])
        dev = s.get("device") or str(first["device"])
        status = clean(first["status"]) or "missing"
        reason = first["reason"] if isinstance(first["reason"], str) and first["reason"] else ""
        statuses = sorted({clean(x) or "missing" for x in df["status"]})
        extra = f" ({', '.join(statuses)} across {len(df)} rows)" if len(statuses) > 1 else ""
        return f"{what} {status} on {dev}" + (f": {reason}" if reason else "") + extra
