"""Match a claim's subject or baseline to benchmark rows, or say exactly what is missing."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from ..text import has_word
from .hardware import Hardware, key, norm_precision

SIDE_FIELDS = ("device", "model", "backend", "precision", "method", "batch")
ROUTING_SUITE = "moe_routing"
# A claim's "top-k" baseline that names no k (check.py and conditional.py read it as top-2)
GENERIC_TOPK = {"top-k", "fixed top-k", "topk", "top k", "fixed top-k routing", "top-k routing"}
CONTEXT_COLUMNS = ("phase", "workload", "dispatch")
SETTING_COLUMNS = ("memory_format", "cuda_graphs", "compile_mode")
COMPILED_BACKENDS = {"torchcompile", "compile", "compiled", "torchscript"}
COMPILED = re.compile(r"torch\.?compile|\bcompil|\bgraphs?\b|torchscript|inductor|\bjit\b", re.I)


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
    """The subject_* or baseline_* fields of a claim as {field: value or None}, plus `compiled`: whether
    the claim is about compiled PyTorch or graphs (else torch_compile rows never answer it)."""
    out = {f: clean(claim.get(f"{prefix}_{f}")) for f in SIDE_FIELDS}
    out["compiled"] = names_compilation(claim)
    return out


def _hardware(r: dict) -> tuple[str | None, str]:
    """(recorded hardware, 'gpu'/'cpu'/'') of a row: the `hardware` column, else GPU name, else CPU model."""
    rec, kind = _text(r.get("hardware")), clean(r.get("hardware_kind")) or ""
    if rec:
        return rec, kind or ("gpu" if _text(r.get("gpu_name")) == rec else "cpu" if _text(r.get("cpu_model")) == rec else "")
    if _text(r.get("gpu_name")):
        return _text(r["gpu_name"]), "gpu"
    if _text(r.get("cpu_model")):
        return _text(r["cpu_model"]), "cpu"
    return None, ""


def parse_batch(text: str | None) -> tuple[int, int] | None:
    """'32' -> (32, 32); '16-32' / '16–32' -> (16, 32); None when absent or unreadable."""
    if text is None:
        return None
    nums = [int(float(n)) for n in re.findall(r"\d+(?:\.\d+)?", str(text))]
    if not nums:
        return None
    return (min(nums[:2]), max(nums[:2]))


def row_key(r) -> str:
    """A benchmark row's provenance key: suite/device/model/backend/precision/b<batch>, with '@<file>' for a
    reference row, so a row read from a results file never passes for one this run measured."""
    get = r.get if isinstance(r, dict) else (lambda k: getattr(r, k, None) if not hasattr(r, "get") else r.get(k))
    base = f"{get('suite')}/{get('device')}/{get('model')}/{get('backend')}/{get('precision')}/b{int(get('batch_size'))}"
    ref = clean(get("origin")) == "reference" and get("reference_file")
    return f"{base}@{Path(str(ref)).name}" if ref else base


def _text(value) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def names_compilation(claim: dict) -> bool:
    """Whether a claim is about compiled PyTorch or graphs (torch.compile, CUDA graphs, TorchScript)."""
    text = " ".join(str(claim.get(k) or "") for k in ("sentence", "subject_backend", "baseline_backend",
                                                        "subject_method", "baseline_method"))
    return COMPILED.search(text) is not None


def _ref_labels(rows: pd.DataFrame) -> list[str]:
    """'<date> (<file name>)' of each reference file among `rows`."""
    return sorted({f"{r['reference_date'] or 'unknown date'} ({Path(str(r['reference_file'])).name})"
                   for r in rows.to_dict("records") if r["_origin"] == "reference"})


def per_cpu(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """CPU rows split by the CPU model they recorded (one baseline each); {} when the rows are not CPU rows."""
    cpu = rows[rows["_cpu"]]
    if cpu.empty or len(cpu) != len(rows):
        return {}
    return {str(h): g for h, g in cpu.groupby(cpu["_hw"].fillna("unrecorded CPU"), sort=True)}


def per_cpu_result(results: dict) -> dict:
    """One check per CPU model: the claim holds where any measured CPU reproduces it; the reason lists each."""
    decided = {c: r for c, r in results.items() if r["status"] in ("REPRODUCED", "NOT_REPRODUCED")}
    if not decided:
        first = next(iter(results.values()))
        return {**first, "reason": "; ".join(f"against {c}: {r['reason']}" for c, r in results.items())}
    pick = next((c for c, r in decided.items() if r["status"] == "REPRODUCED"), next(iter(decided)))
    reason = "per CPU baseline (never pooled): " + "; ".join(
        f"against {c}: {r['status']}, {r['reason']}" for c, r in results.items()) + f"; reported: {pick}"
    return {**decided[pick], "reason": reason}


OVER = (("device", "_devlabel"), ("model", "model"), ("backend", "backend"), ("precision", "_precision"),
        ("batch", "batch_size"), ("setting", "_setting"))


def best_over(rows: pd.DataFrame, s: dict, word: str = "best over") -> str:
    """', best over backend (onnxruntime, torch_eager); batch (1-64)': what a 'best' ranged over, where it varied."""
    parts = []
    for dim, col in OVER:
        if s.get(dim) and dim != "setting":
            continue
        vals = sorted({v for v in rows[col].dropna()}, key=str)
        if dim == "setting":
            vals = sorted({v or "defaults" for v in rows[col].fillna("")})
        if len(vals) < 2:
            continue
        shown = f"{min(vals)}-{max(vals)}" if dim == "batch" else ", ".join(map(str, vals))
        parts.append(f"{dim} ({shown})")
    return f", {word} {'; '.join(parts)}" if parts else ""


def protocol_spread(df: pd.DataFrame) -> pd.Series:
    """Per row: how far apart the protocols that measured its point are (max/min throughput - 1); 0 when one."""
    out = pd.Series(0.0, index=df.index)
    if "protocol" not in df.columns or df.empty or "throughput_ips" not in df.columns:
        return out
    ok = df[df["_ok"] & df["throughput_ips"].notna()]
    proto = ok["protocol"].map(lambda p: clean(p) or "stable")
    for _, g in ok.groupby([ok["_key"], ok["_setting"], ok["_ctx"], ok["_hw"].fillna("")]):
        if proto[g.index].nunique() > 1 and g["throughput_ips"].min() > 0:
            out[g.index] = float(g["throughput_ips"].max() / g["throughput_ips"].min() - 1)
    return out


@dataclass
class Selection:
    """Rows that measure one side of a claim (status ok), or why there are none."""
    rows: pd.DataFrame
    missing: str | None = None


class Bench:
    """Benchmark rows normalised for matching against claims; a row's device is what its hardware record
    says (NVML GPU name or CPU model), resolved with config/devices.yaml, never its entry's name.
    Reference rows (read from results files) decide claims only when `reference_decides`."""

    def __init__(self, df: pd.DataFrame, hw: Hardware, reference_decides: bool = False):
        self.hw, self.reference_decides = hw, reference_decides
        df = df.copy() if df is not None else pd.DataFrame()
        for col in ("suite", "device", "gpu_name", "model", "backend", "precision", "status", "reason", "hardware",
                    "hardware_kind", "cpu_model", "origin", "reference_file", "reference_date", "run_id"):
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
        # what the row ran on: its hardware record; older files: the GPU name, else the CPU model
        recs = [_hardware(r) for r in df[["hardware", "hardware_kind", "gpu_name", "cpu_model"]].to_dict("records")]
        df["_hw"] = [h for h, _ in recs]
        df["_hwkind"] = [k for _, k in recs]
        df["_cpu"] = df["_hwkind"] == "cpu"
        df["_spec"] = [(lambda sp: sp.key if sp else "")(hw.identify(h, k)) for h, k in recs]
        df["_origin"] = df["origin"].map(lambda o: clean(o) or "run")
        df["_decides"] = (df["_origin"] == "run") | bool(reference_decides)
        df["_ok"] = df["status"].map(lambda s: clean(s) == "ok")
        # rows of one configuration may differ in phase, workload or dispatch (moe_routing): never mix them
        ctx = [c for c in CONTEXT_COLUMNS if c in df.columns]
        parts = [df[c].map(lambda v: clean(v) or "") for c in ctx]
        df["_ctx"] = [("/".join(t)) for t in zip(*parts)] if parts and len(df) else ""
        # settings that change the number (memory layout, CUDA graphs, compile mode): a match dimension
        sets = [df[c].map(lambda v, c=c: f"{c}={clean(v)}" if clean(v) not in (None, "false", "nan") else "")
                for c in SETTING_COLUMNS if c in df.columns]
        df["_setting"] = [",".join(x for x in t if x) for t in zip(*sets)] if sets and len(df) else ""
        df["_devlabel"] = [sp or ("cpu:" + h if k == "cpu" and h else h or d)
                           for sp, h, k, d in zip(df["_spec"], df["_hw"], df["_hwkind"], df["_device"])]
        df["_key"] = [row_key(r) for r in df.to_dict("records")] if len(df) else pd.Series(dtype=str)
        # a row decides a contradiction only when its repeats confirmed it; rows without a record did not
        df["_confirmed"] = df["confirmed"].map(lambda v: v is True or v == 1 or clean(v) == "true") \
            if "confirmed" in df.columns else False
        df["_confirm_note"] = [(_text(n) or ("" if c else "no repeats recorded")) for n, c in
                               zip(df["confirm_note"] if "confirm_note" in df.columns else [None] * len(df),
                                   df["_confirmed"])]
        df["_protocol_spread"] = protocol_spread(df)
        self.df = df.reset_index(drop=True)

    def _label(self, r) -> str:
        return r["_spec"] or ("cpu" if r["_cpu"] else (r["_hw"] or r["_device"]))

    @cached_property
    def devices(self) -> list[str]:
        """Devices (resolved from the hardware record) of the rows that can decide a claim."""
        return sorted({self._label(r) for r in self.df[self.df["_decides"]].to_dict("records")})

    @cached_property
    def reference_devices(self) -> list[str]:
        """Devices of reference rows (read from results files)."""
        return sorted({self._label(r) for r in self.df[self.df["_origin"] == "reference"].to_dict("records")})

    def provenance(self, keys) -> list[dict]:
        """Each used row key with its origin and hardware (and run id, or file and date for reference rows)."""
        out = []
        for k in sorted(set(keys)):
            hit = self.df[self.df["_key"] == k]
            if hit.empty:
                out.append({"key": k})
                continue
            r = hit.iloc[0]
            item = {"key": k, "origin": r["_origin"], "hardware": r["_hw"], "device": self._label(r)}
            if r["_origin"] == "reference":
                item.update(file=_text(r["reference_file"]), date=_text(r["reference_date"]),
                            commit=_text(r.get("reference_commit")))
            else:
                item["run_id"] = _text(r["run_id"])
            out.append(item)
        return out

    def annotate(self, res: dict) -> dict:
        """`res` with its bench_rows as provenance entries, and a reason that names a reference measurement."""
        keys = json.loads(res["bench_rows"]) if res.get("bench_rows") else []
        prov = self.provenance(keys)
        refs = sorted({f"{p.get('date') or 'unknown date'} ({p.get('file')})" for p in prov
                       if p.get("origin") == "reference"})
        reason = res["reason"] + (f"; reference measurement of {', '.join(refs)}" if refs else "")
        return {**res, "bench_rows": json.dumps(prov, sort_keys=True), "reason": reason}

    def _ran_elsewhere(self, df: pd.DataFrame, device: str, spec) -> str:
        """Why rows from an entry named like `device` do not count: the hardware they recorded."""
        named = df[(df["_device"] == device) | df["_device"].map(lambda d: self.hw.resolve(d) is spec)]
        if named.empty:
            return f"no {device} results"
        ran = sorted({h or "no recorded hardware" for h in named["_hw"]})
        want = spec.name if spec is not None else device
        article = "an" if want[:1] in "AEIOUNaeiou" else "a"  # "an NVIDIA L4", "a Tesla T4"
        return f"rows for '{named['_device'].iloc[0]}' ran on {', '.join(ran)}, not {article} {want}"

    def _device_mask(self, df: pd.DataFrame, device: str) -> tuple[pd.Series, str]:
        hw = self.hw
        spec = hw.resolve(device)
        if spec is None and hw.is_cpu(device):
            # a CPU family, not a model: any measured CPU of the family (the check says `match: class`)
            cls = hw.cpu_class(device)
            mask = df["_cpu"] & df["_hw"].map(lambda h: cls is None or cls.admits(h))
            measured = sorted({str(g) for g in df.loc[df["_cpu"], "_hw"].dropna()})
            what = f"no {cls.name if cls else device} results" + (f" (the cpu rows were measured on {', '.join(measured)})"
                                                                  if measured and not mask.any() else "")
            return mask, what
        if spec is not None and spec.kind == "cpu":
            mask = df["_spec"] == spec.key
            measured = sorted({str(g) for g in df.loc[df["_cpu"], "_hw"].dropna()})
            extra = f" (the cpu rows were measured on {', '.join(measured)})" if measured else " (no cpu rows)"
            return mask, f"no {device} results{extra}"
        if spec is not None:
            mask = df["_spec"] == spec.key
            return mask, ("" if mask.any() else self._ran_elsewhere(df, device, spec))
        # a device no spec names: its name must appear in the recorded hardware ('RTX 3090' in 'NVIDIA GeForce RTX 3090')
        mask = df["_hw"].map(lambda h: bool(h) and has_word(h, device))
        return mask, ("" if mask.any() else self._ran_elsewhere(df, device, None))

    def select(self, s: dict, gpu_only: bool = False, suite: str | None = None) -> Selection:
        """Rows matching every field `s` names; otherwise the first field that has none, named."""
        df, where = self.df, ""
        if suite is not None:
            df = df[df["suite"].map(clean) == suite]
            if df.empty:
                return Selection(df, f"no {suite} results")
        if gpu_only:
            df = df[df["_hwkind"] == "gpu"]
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
            names = self.hw.backend_names(s["backend"])
            # compiled PyTorch (and its CUDA graphs) answers an eager 'PyTorch' claim only when the claim says so
            if not s.get("compiled") and key(s["backend"]) not in COMPILED_BACKENDS:
                names = names - COMPILED_BACKENDS
            df = df[df["_backend"].isin(names)]
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
            why = self._why_not_ok(df, s)
            if not df["_decides"].any():  # what failed there was a reference measurement, not this run
                why += f" (in the reference measurement of {', '.join(_ref_labels(df))})"
            return Selection(ok, why)
        decides = ok[ok["_decides"]]
        if decides.empty:  # only rows read from results files match: they inform, they do not decide
            return Selection(decides, f"only reference rows match (reference measurement of {', '.join(_ref_labels(ok))}); "
                             "reference rows decide no claim unless verdicts.reference_decides is true")
        return Selection(decides)

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
