"""The LLM part of a study's answer: what this hardware measured for whole-model generation, by batch size.

Per device (as the hardware recorded it), model, precision and prompt/output lengths, each backend's
decode speed per sequence and in total, and its time to first token, at the smallest and largest
batch measured; the claims checked against llm rows bear on it.
"""
from __future__ import annotations

import pandas as pd

from .llm_checks import SUITE  # the suite's own name, from its declaration
from .match import Bench, clean, row_key


def _f(v, fmt="{:,.3g}") -> str:
    return "n/a" if v is None or pd.isna(v) else fmt.format(float(v))


def _backend_sentence(g: pd.DataFrame) -> tuple[str, dict]:
    """'hf_eager decodes 50 tok/s per sequence at batch 1 ...' for one backend's rows, and its details."""
    g = g.sort_values("batch_size")
    lo, hi = g.iloc[0], g.iloc[-1]
    name = str(lo["backend"])
    per = g.get("tokens_per_s_per_seq", pd.Series(dtype=float))
    agg = g.get("output_tokens_per_s", pd.Series(dtype=float))
    ttft = g.get("ttft_ms_p50", pd.Series(dtype=float))
    text = (f"{name} decodes {_f(per.iloc[0])} tok/s per sequence at batch {int(lo['batch_size'])} "
            f"(TTFT {_f(ttft.iloc[0])} ms)")
    detail = {"backend": name, "batches": [int(b) for b in g["batch_size"]],
              "tokens_per_s_per_seq": [float(x) for x in per] if len(per) else [],
              "output_tokens_per_s": [float(x) for x in agg] if len(agg) else [],
              "ttft_ms_p50": [float(x) for x in ttft] if len(ttft) else []}
    if len(g) > 1:
        gain = agg.iloc[-1] / agg.iloc[0] if len(agg) and agg.iloc[0] else None
        slow = ttft.iloc[-1] / ttft.iloc[0] if len(ttft) and ttft.iloc[0] else None
        text += (f" and {_f(agg.iloc[-1])} tok/s in total at batch {int(hi['batch_size'])} "
                 f"({_f(per.iloc[-1])} per sequence, TTFT {_f(ttft.iloc[-1])} ms): {_f(gain, '{:.2f}')}x the aggregate "
                 f"throughput for {int(hi['batch_size']) // max(1, int(lo['batch_size']))}x the batch, TTFT "
                 f"{_f(slow, '{:.2f}')}x")
    return text, detail


def llm_comparisons(bench: Bench, checks: pd.DataFrame | None, claims_on=None) -> list[dict]:
    """One answer entry per device x model x precision x lengths of this run's ok llm rows ([] without any)."""
    df = bench.df
    if not len(df):
        return []
    rows = df[(df["suite"].map(clean) == SUITE) & df["_ok"] & df["_decides"]]
    if rows.empty:
        return []
    bearing = []
    if checks is not None and not checks.empty and claims_on is not None:
        llm_ids = {r["claim_id"] for r in checks.to_dict("records") if f"{SUITE}/" in str(r.get("bench_rows") or "")
                   or "token" in str(r.get("metric") or "") or r.get("metric") in ("ttft", "tpot")}
        bearing = claims_on(checks, llm_ids)
    keys = [c for c in ("_devlabel", "model", "_precision", "input_len", "output_len") if c in rows.columns]
    out = []
    for group, g in rows.groupby(keys, dropna=False):
        vals = dict(zip(keys, group if isinstance(group, tuple) else (group,)))
        hw = ", ".join(sorted({str(h) for h in g["_hw"].dropna()})) or str(vals["_devlabel"])
        sentences, details = [], []
        for _, b in g.groupby("backend"):
            text, detail = _backend_sentence(b)
            sentences.append(text)
            details.append(detail)
        lengths = f"{_f(vals.get('input_len'), '{:.0f}')} prompt and {_f(vals.get('output_len'), '{:.0f}')} output tokens"
        finding = (f"On {hw}, {vals['model']} in {vals['_precision']} ({lengths}, random weights): "
                   + "; ".join(sentences) + ".")
        untested = [f"claim {c['claim_id']}: {c['reason'].split('; plausibility')[0]}" for c in bearing
                    if c["status"] == "UNTESTABLE"]
        out.append({"comparison": f"decode throughput and TTFT over batch size ({vals['model']}, {vals['_precision']}, "
                                  f"{hw})", "finding": finding, "measured": sorted(row_key(r) for r in g.to_dict("records")),
                    "origin": "run", "claims": bearing, "conditional": False, "untested": untested, "details": details})
    return out
