"""Check LLM-serving claims against the `llm` suite's rows: model, backend, precision, batch, lengths, metric.

A claim is matched only with the backend it names (HF Transformers -> hf_eager, or hf_static_compile
when it says static cache or compile; plain PyTorch / gpt-fast -> fast_decode), never a faster one;
a serving stack that cannot run here, a quantised precision, a model missing from the registry or a
device this run did not measure makes the claim UNTESTABLE, and the reason names what is missing.
"""
from __future__ import annotations

import copy
import re

import pandas as pd

from .compare import check_result as _res, claimed_speedup, decide, percent_of, qualifier_of, speedup_terms
from .hardware import norm_precision
from .llm_reading import QUANTISED, LLMReading, read_llm_claim
from .match import Bench, best_over, clean, names_compilation, row_key
from .plausibility import as_number

SUITE = "llm"
RUNS = ("hf_eager", "hf_static_compile", "fast_decode")
PRECISIONS = ("fp32", "fp16", "bf16")
# claim backend -> the llm suite backends that measure it
BACKENDS = {"hf_transformers": ("hf_eager",), "pytorch": ("fast_decode",), "gpt_fast": ("fast_decode",),
            "torch_compile": ("fast_decode",)}
# serving stacks that are not installed here (named in the reason, never replaced by another backend)
ELSEWHERE = {"vllm": "vLLM", "tensorrt_llm": "TensorRT-LLM", "llama.cpp": "llama.cpp", "deepspeed": "DeepSpeed",
             "sglang": "SGLang", "tgi": "TGI (text-generation-inference)", "fastertransformer": "FasterTransformer",
             "exllamav2": "ExLlamaV2", "mlc_llm": "MLC LLM", "lmdeploy": "LMDeploy", "lightllm": "LightLLM",
             "ollama": "Ollama", "ctranslate2": "CTranslate2", "tensorrt": "TensorRT", "onnxruntime": "ONNX Runtime",
             "openvino": "OpenVINO", "triton_server": "Triton Inference Server", "megatron": "Megatron",
             "mlx": "MLX", "jax": "JAX", "xla": "XLA", "tvm": "TVM", "coreml": "Core ML", "tensorflow": "TensorFlow",
             "flexgen": "FlexGen", "sarathi_serve": "Sarathi-Serve"}
STATIC = re.compile(r"static[\s-]+(?:kv[\s-]+)?cache|torch\.?compile|\bcompiled\b", re.I)
# metric -> (column of the llm rows, higher is better); the suite's declaration, when present, names the columns
COLUMNS = {"per_sequence": ("tokens_per_s_per_seq", True), "aggregate": ("output_tokens_per_s", True),
           "ttft": ("ttft_ms_p50", False), "tpot": ("tpot_ms_p50", False), "e2e": ("e2e_ms_p50", False)}
DECLARED = {"per_sequence": "tokens_per_s_per_seq", "aggregate": "tokens_per_s", "ttft": "ttft", "tpot": "tpot",
            "e2e": "e2e_latency"}


def _use_declaration() -> None:
    """Take the suite name, backends, precisions and metric columns from the llm suite's own declaration."""
    global SUITE, RUNS, PRECISIONS
    try:
        from ..bench.llm.declaration import declaration
    except ImportError:  # a checkout without the suite: the row contract's names above
        return
    d = declaration()
    SUITE, RUNS, PRECISIONS = d["suite"], tuple(d["backends"]), tuple(d["precisions"])
    for ours, theirs in DECLARED.items():
        if theirs in d["metrics"]:
            COLUMNS[ours] = (d["metrics"][theirs][0], COLUMNS[ours][1])


_use_declaration()


def backends_for(backend: str | None, claim: dict) -> tuple[tuple[str, ...] | None, str]:
    """The llm suite backends a claim's backend is checked against (None: cannot run here) and a note."""
    if backend is None:
        return RUNS, "no backend named: any of " + ", ".join(RUNS)
    if backend == "hf_transformers":
        if STATIC.search(str(claim.get("sentence") or "")) or names_compilation(claim):
            return ("hf_static_compile",), "HF Transformers with a static cache / compile -> hf_static_compile"
        return ("hf_eager",), "HF Transformers -> hf_eager"
    if backend in BACKENDS:
        return BACKENDS[backend], f"{backend} -> fast_decode (plain PyTorch, static KV cache, compiled step)"
    return None, f"{ELSEWHERE.get(backend, backend)} cannot run here (the llm suite runs {', '.join(RUNS)}); " \
                 "its figure is never checked against another backend"


def metric_column(r: LLMReading, batch: int | None) -> tuple[str, bool, str]:
    """(column, higher is better, how the claim's metric was read)."""
    if r.metric in ("ttft", "tpot", "e2e"):
        col, higher = COLUMNS[r.metric]
        return col, higher, r.metric
    if r.metric in ("token_throughput", "throughput", "speedup") and r.kind in ("ratio", "change"):
        return COLUMNS["aggregate"] + ("output tokens/s",)
    scope = r.scope or ("aggregate" if batch and batch > 1 else "per_sequence")
    why = scope.replace("_", "-") + " tokens/s" + ("" if r.scope else " (not stated; read from the batch)")
    return COLUMNS[scope] + (why,)


def untestable_why(r: LLMReading, claim: dict) -> str | None:
    """Everything that makes the claim untestable before any row is looked at (backend, precision, model, method)."""
    why = []
    runs, note = backends_for(r.backend, claim)
    if runs is None:
        why.append(note)
    prec = norm_precision(r.precision) if r.precision else None
    if prec in QUANTISED or r.quant_method:
        what = " ".join(x for x in (prec, f"({r.quant_method})" if r.quant_method else None) if x)
        why.append(f"{what} weights: the llm suite runs {'/'.join(PRECISIONS)} only")
    if r.spec is None:
        why.append(r.model_note)
    method = clean(claim.get("subject_method"))
    if method:
        why.append(f"the llm suite does not run {method} (it measures plain generation with {', '.join(RUNS)})")
    return "; ".join(why) or None


def select_rows(r: LLMReading, claim: dict, bench: Bench, side: dict | None = None) -> tuple[pd.DataFrame, str, str]:
    """The ok llm rows a reading names (device, model, backend, precision, batch, lengths), or why none."""
    side = side or {}
    device = side.get("device", r.device)
    sel = bench.select({"device": device, "model": r.spec.key}, suite=SUITE)
    if sel.missing:
        ran = sorted({str(h) for h in bench.df.loc[bench.df["suite"].map(clean) == SUITE, "_hw"].dropna()})
        return sel.rows, sel.missing + (f" (the llm rows of this run ran on {', '.join(ran)})" if ran else ""), ""
    rows = sel.rows
    runs, note = backends_for(side.get("backend", r.backend), claim)
    rows = rows[rows["backend"].map(clean).isin(runs)]
    if rows.empty:
        return rows, f"no {'/'.join(runs)} results for {r.spec.key} on {device}", note
    prec = side.get("precision", r.precision)
    if prec:
        rows = rows[rows["_precision"] == norm_precision(prec)]
        if rows.empty:
            return rows, f"no {prec} results for {r.spec.key} on {device} ({note})", note
    batch = side.get("batch", r.batch)
    for col, want, label in (("batch_size", batch, "batch"), ("input_len", r.input_len, "input length"),
                             ("output_len", r.output_len, "output length")):
        if want and col in rows.columns:
            have = sorted({int(v) for v in rows[col].dropna()})
            rows = rows[rows[col] == want]
            if rows.empty:
                return rows, f"no {label} {want} measured for {r.spec.key} ({label}s measured: " \
                             f"{', '.join(map(str, have)) or 'none'})", note
    return rows, "", note


def _where(row) -> str:
    return f"{row_key(row)}, input {_i(row, 'input_len')}, output {_i(row, 'output_len')}"


def check_absolute(r: LLMReading, claim: dict, bench: Bench, tol: float) -> dict:
    """An absolute tokens/s, TTFT, TPOT or e2e figure, decided over every matching llm row by the one comparison
    rule (compare.decide): exact/approx when some row is within the tolerance, at_least/at_most against the
    bound, up_to against the best row."""
    claimed = r.value_ms if r.metric in ("ttft", "tpot", "e2e") else r.value
    if claimed is None:
        return _res("UNTESTABLE", "the claim carries no value")
    if not r.device:
        return _res("UNTESTABLE", "the claim names no device, and an absolute figure depends on the hardware", claimed)
    rows, why, note = select_rows(r, claim, bench)
    if why:
        return _res("UNTESTABLE", why, claimed)
    col, higher, how = metric_column(r, r.batch)
    rows = rows[rows[col].notna()] if col in rows.columns else rows.iloc[0:0]
    if rows.empty:
        return _res("UNTESTABLE", f"matching llm rows carry no {col}", claimed)
    values = {i: float(rows.at[i, col]) for i in rows.index}
    ok, pick = decide(values, claimed, qualifier_of(r.qualifier), tol, best_is_max=higher)
    unit = "tok/s" if higher else "ms"
    lo, hi = min(values.values()), max(values.values())
    spread = f"; the {len(rows)} matching rows measured {lo:,.4g}-{hi:,.4g} {unit}" if len(rows) > 1 else ""
    reason = (f"measured {values[pick]:,.4g} vs claimed {claimed:,.4g} {unit} ({how}; {note}) at {_where(rows.loc[pick])}"
              f"{best_over(rows, {'model': 1, 'backend': r.backend, 'precision': r.precision, 'batch': r.batch}, 'decided over')}"
              f"{spread}")
    return _res("REPRODUCED" if ok else "NOT_REPRODUCED", reason, claimed, values[pick], [row_key(rows.loc[pick])])


def _i(row, col) -> str:
    v = row.get(col) if hasattr(row, "get") else None
    return "?" if v is None or pd.isna(v) else str(int(v))


# What a subject row and a baseline row must share to form one ratio, unless the baseline is the side that varies it
# (a claim naming no backend compares each backend with itself; one naming no device, each host with itself).
PAIR_ON = {"backend": "backend", "device": "_hw", "batch": "batch_size", "precision": "_precision",
           "input_len": "input_len", "output_len": "output_len"}


def _pair_value(v):
    """A cell as a pairing key: numbers as floats (1 and 1.0 pair), missing as None, text cleaned."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return clean(v) if isinstance(v, str) else str(v)


def pairs(s_rows: pd.DataFrame, b_rows: pd.DataFrame, base: dict) -> list[tuple]:
    """(subject index, baseline index) of rows measured with the same backend, host, batch, precision and lengths,
    leaving out the dimensions the baseline itself names (a 'batch 8 vs batch 1' ratio pairs across batch)."""
    keys = [col for dim, col in PAIR_ON.items() if dim not in base and col in s_rows.columns and col in b_rows.columns]

    def key(row):
        return tuple(_pair_value(row[c]) for c in keys)

    by_key = {}
    for j in b_rows.index:
        by_key.setdefault(key(b_rows.loc[j]), []).append(j)
    return [(i, j) for i in s_rows.index for j in by_key.get(key(s_rows.loc[i]), [])]


def check_relative(r: LLMReading, claim: dict, bench: Bench, tol: float) -> dict:
    """A ratio (subject over baseline) of tokens/s or latency between two llm configurations, paired on the
    batch, precision and lengths the claim leaves open and decided over the pairs by compare.decide."""
    claimed = r.value
    percent = r.kind == "change" and clean(claim.get("unit")) == "%"
    v_from, v_to = as_number(claim.get("value_from")), as_number(claim.get("value_to"))
    # as check.py: a from/to pair of figures is the claim whatever `value` holds; a percent claim without a value
    # takes the change from/to states
    from_to = r.kind == "change" and not percent and bool(v_from) and v_to is not None
    if percent and claimed is None and v_from and v_to is not None:
        claimed = (v_to / v_from - 1) * 100
    if claimed is None and not from_to:
        return _res("UNTESTABLE", "the claim states no single value to compare with")
    base = {k: clean(claim.get(f"baseline_{k}")) for k in ("device", "backend", "precision", "batch")}
    base = {k: v for k, v in base.items() if v}
    if not base:
        return _res("UNTESTABLE", "the claim names no baseline to compare with", claimed)
    if "backend" in base and backends_for(base["backend"], claim)[0] is None:
        return _res("UNTESTABLE", "baseline: " + backends_for(base["backend"], claim)[1], claimed)
    if "batch" in base:
        base["batch"] = int(float(re.findall(r"\d+", base["batch"])[0]))
    if not r.device:
        return _res("UNTESTABLE", "the claim names no device, and a ratio between setups depends on the hardware",
                    claimed)
    s_rows, why, _ = select_rows(r, claim, bench)
    if why:
        return _res("UNTESTABLE", why, claimed)
    b_rows, why, _ = select_rows(r, claim, bench, base)
    if why:
        return _res("UNTESTABLE", f"baseline: {why}", claimed)
    col, higher, how = metric_column(r, None)
    s_rows, b_rows = (x[x[col].notna() & (x[col] > 0)] for x in (s_rows, b_rows))
    matched = pairs(s_rows, b_rows, base)
    if not matched:
        return _res("UNTESTABLE", "the subject's and the baseline's rows share no backend, host, batch, precision and lengths "
                    f"({len(s_rows)} and {len(b_rows)} rows)", claimed)
    # higher-is-better metrics: subject / baseline; latencies: baseline / subject (a speed-up either way)
    values = {(i, j): (s_rows.at[i, col] / b_rows.at[j, col] if higher else b_rows.at[j, col] / s_rows.at[i, col])
              for i, j in matched}
    values = {k: float(v) for k, v in values.items()}
    # a percent change or a from/to pair becomes one speed-up in the metric's direction ("TPOT cut by 60%" and
    # "from 20 to 50 tokens/s" both claim 2.5x); the from/to claim is then a ratio claim of that size
    if from_to:
        claimed = claimed_speedup(higher, v_from=v_from, v_to=v_to)
    target = claimed_speedup(higher, percent=claimed) if percent else claimed
    if target is None or target <= 0:
        return _res("UNTESTABLE", "the claimed change leaves no speed-up to compare (e.g. -100%, or from/to with a zero)",
                    claimed)
    q, best_max = speedup_terms(r.qualifier, target)  # a claimed slowdown turns the qualifier around
    ok, (i, j) = decide(values, target, q, tol, best_is_max=best_max)
    lo, hi = min(values.values()), max(values.values())
    spread = f"; {len(values)} pairs measured {lo:,.3g}x-{hi:,.3g}x" if len(values) > 1 else ""
    measured = percent_of(values[(i, j)], higher) if percent else values[(i, j)]
    said = f"{measured:+,.3g}% vs claimed {claimed:+,.3g}% (speed-up {values[(i, j)]:,.3g}x vs {target:,.3g}x" \
        if percent else f"{measured:,.3g}x vs claimed {claimed:,.3g}x ("
    reason = (f"measured {said}{'; ' if percent else ''}{how}): {_where(s_rows.loc[i])} against {_where(b_rows.loc[j])}"
              f"{spread}")
    return _res("REPRODUCED" if ok else "NOT_REPRODUCED", reason, claimed, measured,
                [row_key(s_rows.loc[i]), row_key(b_rows.loc[j])])


def without_llm_rows(bench: Bench) -> Bench:
    """The same Bench without the llm suite's rows (a view; `bench` itself when it has none)."""
    mask = bench.df["suite"].map(clean) == SUITE if len(bench.df) else None
    if mask is None or not mask.any():
        return bench
    view = copy.copy(bench)
    view.df = bench.df[~mask].reset_index(drop=True)
    return view


def check_llm(claim: dict, bench: Bench, cfg, registry=None) -> dict | None:
    """Status, values and reason of an LLM-serving claim against the llm rows (None: not an LLM claim)."""
    r = read_llm_claim(claim, registry)
    if r is None:
        return None
    why = untestable_why(r, claim)
    if not (bench.df["suite"].map(clean) == SUITE).any():  # a study without the llm suite measures no tokens
        more = f" ({why})" if why else ""
        return _res("UNTESTABLE", f"the suites measure no token generation here (no {SUITE} rows: the study does not "
                    f"list the {SUITE} suite, or it measured nothing){more}",
                    r.value_ms if r.metric in ("ttft", "tpot", "e2e") else r.value)
    if why:
        return _res("UNTESTABLE", why, r.value_ms if r.metric in ("ttft", "tpot", "e2e") else r.value)
    if r.kind == "absolute":
        return check_absolute(r, claim, bench, cfg.tolerance)
    if r.kind in ("ratio", "change"):
        return check_relative(r, claim, bench, cfg.tolerance)
    return _res("UNTESTABLE", f"no check for a {r.kind} claim on {r.metric}", r.value)
