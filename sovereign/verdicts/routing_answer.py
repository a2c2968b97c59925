"""The routing question at model level: on-demand against top-2 in end-to-end latency per request, with the MoE layers' share.

Model-level `moe_routing` rows (level `model`, phase `request`) come from the MoE-LLaVA-shaped model
serving VQAv2- and Visual7W-shaped requests. Per device (as its hardware record resolves) and
workload, the finding states how on-demand routing changes the median end-to-end latency per
request against top-2 at each batch size, what share of prefill and of decode the MoE layers took
(timed, under top-2), and how much the MoE layers' own time changed, so a block-level change can be
read against the part of the request it touches. Block rows on the same device add the block suite's
change at the same batch size where it measured one.
"""
from __future__ import annotations

import pandas as pd

from .match import ROUTING_SUITE, Bench, row_key

WORKLOAD_LABEL = {"vqav2": "VQAv2-shaped", "visual7w": "Visual7W-shaped"}


def is_model_row(df: pd.DataFrame) -> pd.Series:
    """Rows measured on the whole model (level `model`), False where the column is absent."""
    if "level" not in df.columns:
        return pd.Series(False, index=df.index)
    return df["level"].astype(str).str.lower().eq("model")


def block_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The block-level rows of a frame (older files have no level column: all block)."""
    return df[~is_model_row(df)]


def _key(r) -> str:
    """The row's provenance key with its context (as the block-level answer writes it)."""
    return "/".join([row_key(r)] + [str(r.get(c)) for c in ("workload", "phase", "dispatch") if isinstance(r.get(c), str)])


def _pct(a, b) -> float | None:
    a, b = float(a), float(b)
    return (a / b - 1) * 100 if b > 0 and a == a and b == b else None


def _range(values, fmt="{:+.0f}%") -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "n/a"
    lo, hi = min(vals), max(vals)
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)} to {fmt.format(hi)}"


def _share(values) -> str:
    return _range([v * 100 for v in values if v is not None], "{:.0f}%")


def _block_change(block: pd.DataFrame, dev: str, wl: str, phase: str, batch: int, strategy: str, base: str):
    """The block suite's latency change at one device, workload, phase and batch size (None where not measured)."""
    if block is None or block.empty:
        return None
    g = block[(block["_devlabel"] == dev) & (block["workload"] == wl) & (block["phase"] == phase)
              & (block["batch_size"] == batch)]
    if "dispatch" in g and (g["dispatch"] == "grouped").any():
        g = g[g["dispatch"] == "grouped"]
    a, b = g[g["_backend"] == strategy], g[g["_backend"] == base]
    return _pct(a["latency_ms_p50"].iloc[0], b["latency_ms_p50"].iloc[0]) if len(a) and len(b) else None


def _num(r: pd.Series, col: str) -> float | None:
    v = r.get(col)
    return float(v) if v is not None and pd.notna(v) else None


def _change(a: pd.Series, b: pd.Series, col: str) -> float | None:
    x, y = _num(a, col), _num(b, col)
    return _pct(x, y) if x is not None and y is not None else None


def _details(od: pd.Series, tk: pd.Series, wl: str, block: pd.DataFrame, dev: str) -> dict:
    """One batch size's numbers: e2e, TTFT, TPOT changes, MoE shares and the MoE layers' own change."""
    steps = max((_num(od, "answer_tokens_mean") or 1) - 1, 0)

    def moe(r):
        pre, dec = _num(r, "moe_prefill_ms_mean"), _num(r, "moe_decode_ms_per_step") or 0.0
        return None if pre is None else pre + dec * steps

    m_od, m_tk = moe(od), moe(tk)
    b = int(od["batch_size"])
    return {"level": "model", "workload": wl, "batch_size": b,
            "e2e_ms_p50_ondemand": _num(od, "e2e_ms_p50"), "e2e_ms_p50_topk2": _num(tk, "e2e_ms_p50"),
            "e2e_change_pct": _change(od, tk, "e2e_ms_p50"), "e2e_p90_change_pct": _change(od, tk, "e2e_ms_p90"),
            "ttft_change_pct": _change(od, tk, "ttft_ms_p50"), "tpot_change_pct": _change(od, tk, "tpot_ms_p50"),
            "moe_share_prefill_topk2": _num(tk, "moe_share_prefill"), "moe_share_decode_topk2": _num(tk, "moe_share_decode"),
            "moe_prefill_change_pct": _change(od, tk, "moe_prefill_ms_mean"),
            "moe_decode_change_pct": _change(od, tk, "moe_decode_ms_per_step"),
            "moe_request_change_pct": _pct(m_od, m_tk) if m_od is not None and m_tk else None,
            "block_prefill_change_pct": _block_change(block, dev, wl, "prefill", b, "ondemand", "topk2"),
            "block_decode_change_pct": _block_change(block, dev, wl, "decode", b, "ondemand", "topk2"),
            "real_act_per_token_ondemand": _num(od, "real_act_per_token"),
            "real_act_per_token_topk2": _num(tk, "real_act_per_token"),
            "samples_per_s_change_pct": _change(od, tk, "samples_per_s")}


def _sentence(wl: str, model: str, det: list[dict]) -> str:
    """One workload's finding over its batch sizes."""
    per_batch = ", ".join(f"{d['e2e_change_pct']:+.0f}% at batch {d['batch_size']}" for d in det
                          if d["e2e_change_pct"] is not None)
    blk = [d for d in det if d["block_prefill_change_pct"] is not None or d["block_decode_change_pct"] is not None]
    block_txt = ""
    if blk:
        block_txt = (f"; the block suite's MoE stacks alone change by {_range([d['block_prefill_change_pct'] for d in blk])}"
                     f" in prefill and {_range([d['block_decode_change_pct'] for d in blk])} in decode at batch sizes "
                     f"{', '.join(str(d['batch_size']) for d in blk)}")
    return (f"For {WORKLOAD_LABEL.get(wl, wl)} requests on the {model} model, on-demand changes end-to-end latency per "
            f"request (p50) by {per_batch} against top-2 (TTFT {_range([d['ttft_change_pct'] for d in det])}, time per "
            f"output token {_range([d['tpot_change_pct'] for d in det])}); the MoE layers are "
            f"{_share([d['moe_share_prefill_topk2'] for d in det])} of prefill and "
            f"{_share([d['moe_share_decode_topk2'] for d in det])} of decode (timed, top-2), where the MoE layers alone "
            f"change by {_range([d['moe_prefill_change_pct'] for d in det])} in prefill and "
            f"{_range([d['moe_decode_change_pct'] for d in det])} per decode step{block_txt}; on-demand activates "
            f"{_range([d['real_act_per_token_ondemand'] for d in det], '{:.2f}')} real experts per token against "
            f"{_range([d['real_act_per_token_topk2'] for d in det], '{:.2f}')}.")


def model_level_comparisons(bench: Bench, claims: list[dict], hw_label, origin_note) -> list[dict]:
    """One comparison per device: on-demand against top-2 at model level, per workload and batch size."""
    df = bench.df
    if df.empty or "level" not in df.columns:
        return []
    ok = df[(df["suite"] == ROUTING_SUITE) & df["_ok"] & df["_decides"]]
    rows, block = ok[is_model_row(ok)], block_rows(ok)
    if rows.empty or "e2e_ms_p50" not in rows.columns:
        return []
    out = []
    for dev, g in rows.groupby("_devlabel", sort=True):
        sentences, details, keys = [], [], []
        for (model, wl), gw in g.groupby(["model", "workload"], sort=True):
            det = []
            for b, gb in gw.groupby("batch_size", sort=True):
                od, tk = gb[gb["_backend"] == "ondemand"], gb[gb["_backend"] == "topk2"]
                if od.empty or tk.empty:
                    continue
                det.append(_details(od.iloc[0], tk.iloc[0], wl, block, dev))
                keys += [_key(od.iloc[0]), _key(tk.iloc[0])]
            if det:
                sentences.append(_sentence(wl, model, det))
                details += det
        if not details:
            continue
        used = g[g["_backend"].isin(["ondemand", "topk2"])]
        origin, note = origin_note(used)
        finding = (f"{note}On {hw_label(used)}, whole model (MoE-LLaVA-shaped: CLIP tower, projector, MoE decoder; "
                   "random weights; synthetic shape-matched requests): " + " ".join(sentences))
        out.append({"comparison": f"on-demand vs top-2 routing, end-to-end per request on {dev}", "finding": finding,
                    "measured": sorted(set(keys)), "origin": origin, "claims": claims,
                    "conditional": any(c.get("status") == "CONDITIONAL" for c in claims), "untested": [],
                    "details": details})
    return out
