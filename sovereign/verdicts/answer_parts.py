"""Pieces every answer builder shares: number spans, hardware labels, the claims bearing on a comparison,
and the comparison record itself (a headline sentence, a compact table, the full details)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .match import row_key

DECIDING = ("REPRODUCED", "NOT_REPRODUCED")
LABELS = {"int8": "INT8", "fp32": "FP32", "fp16": "FP16", "bf16": "BF16", "tf32": "TF32", "onnxruntime": "ONNX Runtime",
          "pytorch": "PyTorch", "tensorrt": "TensorRT", "resnet18": "ResNet-18", "resnet50": "ResNet-50",
          "resnet101": "ResNet-101", "torcheager": "PyTorch eager", "torchcompile": "torch.compile"}


def label(value, frame: dict | None = None) -> str:
    """How a reader writes a value: the question's own words when it used some, else the usual spelling."""
    v = str(value)
    return (frame or {}).get("phrases", {}).get(v) or LABELS.get(v) or (v.upper() if len(v) <= 4 else v)


def pct(a, b):
    """Percent change of a against b."""
    return (a / b - 1) * 100


def span(values, fmt="{:+.0f}%") -> str:
    """'lo to hi' of finite values in `fmt` (one value when they agree), 'n/a' when none."""
    vals = [v for v in values if v is not None and np.isfinite(v)]
    if not vals:
        return "n/a"
    lo, hi = min(vals), max(vals)
    return fmt.format(lo) if abs(hi - lo) < 1e-9 else f"{fmt.format(lo)} to {fmt.format(hi)}"


def hw(rows: pd.DataFrame) -> str:
    """'AMD EPYC (device entry cpu)': the hardware the rows recorded, and the config entries they ran under."""
    names = sorted({str(x) for x in rows.get("_hw", pd.Series(dtype=object)).dropna()})
    devs = sorted(set(rows["_device"]))
    return f"{', '.join(names) or 'hardware not recorded'} (device entry {', '.join(devs)})"


def row_label(r) -> str:
    """A row's key with its routing context (workload/phase/dispatch) when it has one."""
    ctx = "/".join(str(r.get(c)) for c in ("workload", "phase", "dispatch") if c in r and pd.notna(r.get(c)))
    return row_key(r) + (f"/{ctx}" if ctx else "")


def claims_on(checks: pd.DataFrame, ids: set[str] | None = None) -> list[dict]:
    """The empirical checks (all, or those of `ids`) as the answer lists them, with the claim's words."""
    if checks is None or checks.empty:
        return []
    c = checks if ids is None else checks[checks["claim_id"].isin(ids)]
    return [{"claim_id": r["claim_id"], "status": r["status"], "reason": str(r.get("reason") or "")[:300],
             "sentence": str(r.get("sentence") or "") if pd.notna(r.get("sentence")) else "",
             "conditional_finding": r.get("conditional_finding") if bool(r.get("conditional")) else None}
            for r in c.to_dict("records") if r["status"] != "NOT_EMPIRICAL"]


def conditional(claims: list[dict], checks: pd.DataFrame) -> bool:
    """Whether any bearing claim is conditional (a claimed budget measured here, not a reproduction)."""
    if any(c["status"] == "CONDITIONAL" for c in claims):
        return True
    if checks is not None and "conditional" in checks and len(claims):
        flags = checks.set_index("claim_id")["conditional"].reindex([c["claim_id"] for c in claims])
        return bool(flags.fillna(False).astype(bool).any())
    return False


def untested(claims: list[dict]) -> list[str]:
    """What is missing for the untested claims (the reason up to its plausibility and conditional notes)."""
    return [f"claim {c['claim_id']}: {c['reason'].split('; plausibility')[0].split('; conditional')[0]}" for c in claims
            if c["status"] in ("UNTESTABLE", "CONDITIONAL")]


def origin_note(rows: pd.DataFrame) -> tuple[str, str]:
    """('run' | 'reference', a sentence prefix): reference rows were measured elsewhere, never by this run."""
    if "origin" not in rows or rows.empty or not (rows["origin"] == "reference").any():
        return "run", ""
    dates = sorted({str(d) for d in rows.get("reference_date", pd.Series(dtype=object)).dropna()})
    which = "Reference rows" if (rows["origin"] == "reference").all() else "Partly reference rows"
    return "reference", f"{which} (measured elsewhere{', ' + ', '.join(dates) if dates else ''}), not this run: "


def comparison(name: str, headline: str, checks: pd.DataFrame, claims: list[dict], measured=(), table=None,
               details=(), origin: str = "run", missing: list[str] | None = None) -> dict:
    """One answer entry: the headline a reader quotes, a compact table, the full per-context details."""
    return {"comparison": name, "headline": headline, "finding": headline, "measured": sorted(set(measured)),
            "origin": origin, "table": table or {"columns": [], "rows": []}, "claims": claims,
            "conditional": conditional(claims, checks),
            "untested": list(missing or []) + untested(claims), "details": list(details)}
