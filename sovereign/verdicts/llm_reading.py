"""An LLM-serving claim as the checks read it: registry model, metric, lengths, batch, scope, backend, precision."""
from __future__ import annotations

from dataclasses import dataclass

from ..bench.llm.registry import ModelSpec, load_registry, normalise, resolve
from ..units import UnitError, to_ms
from .match import clean
from .plausibility import as_number

# claim metrics that only a token-generating suite measures
LLM_METRICS = ("token_throughput", "ttft", "tpot")
# weight precisions and schemes the llm suite does not run (it runs fp32, fp16, bf16)
QUANTISED = {"int8", "int4", "int3", "int2", "fp8", "fp6", "fp4", "w8a8", "awq", "gptq"}
# serving techniques the llm suite does not implement (a claim about them is untestable, naming them)
SERVING_METHODS = {"pagedattention", "continuous batching", "chunked prefill", "speculative decoding", "flash-decoding",
                   "prefix caching", "tensor parallelism", "pipeline parallelism", "medusa", "eagle", "static batching"}
# serving stacks whose throughput and latency claims are about token generation
LLM_BACKENDS = {"vllm", "tensorrt_llm", "llama.cpp", "tgi", "sglang", "deepspeed", "fastertransformer", "exllamav2",
                "mlc_llm", "lmdeploy", "lightllm", "ollama", "gpt_fast", "hf_transformers", "flexgen", "sarathi_serve"}
QUANT_METHODS = {"awq", "gptq", "smoothquant", "llm.int8", "bitsandbytes", "marlin", "squeezellm", "spqr", "quip",
                 "kv cache quantization"}


@dataclass
class LLMReading:
    """What an LLM claim says, in the fields the llm suite's rows carry."""
    kind: str
    metric: str
    value: float | None
    unit: str | None
    spec: ModelSpec | None
    model: str | None
    model_note: str
    device: str | None
    backend: str | None
    precision: str | None
    quant_method: str | None
    batch: int | None
    batch_range: tuple[int, int] | None
    input_len: int | None
    output_len: int | None
    concurrency: int | None
    scope: str | None  # per_sequence | aggregate | None (not said)
    qualifier: str | None

    @property
    def context(self) -> int | None:
        """Tokens the KV cache holds at the end of a request (input + output when both are stated)."""
        if self.input_len and self.output_len:
            return self.input_len + self.output_len
        return self.input_len or None

    @property
    def value_ms(self) -> float | None:
        """A time value in milliseconds."""
        if self.value is None:
            return None
        try:
            return to_ms(self.value, self.unit or "ms")  # the package's one time-unit parser (sovereign/units.py)
        except UnitError:
            return None


def _int(v) -> int | None:
    f = as_number(v)
    return int(f) if f is not None and f > 0 else None


def _batch(text) -> tuple[int | None, tuple[int, int] | None]:
    if not clean(text):
        return None, None
    nums = [int(float(x)) for x in str(text).replace("-", " ").split() if x.replace(".", "").isdigit()]
    if not nums:
        return None, None
    lo, hi = min(nums), max(nums)
    return (lo if lo == hi else None), (lo, hi)


def family_note(model: str, registry: dict[str, ModelSpec]) -> str:
    """Why a claim's model has no registry entry: a family named without its size, or a model not listed."""
    stem = normalise(model)
    sizes = sorted((k for k in registry if normalise(k).startswith(stem + "-")), key=lambda k: registry[k].params)
    if sizes:
        return (f"the claim names {model} without a size (the registry has {', '.join(sizes)}); "
                "the size is not guessed")
    return f"{model} is not in the model registry (config/models.yaml); add an entry to measure it"


def is_llm_claim(claim: dict, registry: dict[str, ModelSpec] | None = None) -> bool:
    """Whether a claim is about token generation: a token metric, or a latency of a registry model."""
    metric = clean(claim.get("metric"))
    if metric in LLM_METRICS or clean(claim.get("unit")) == "tokens/s":
        return True
    backends = {clean(claim.get(f"{s}_backend")) for s in ("subject", "baseline")} - {None}
    if backends & LLM_BACKENDS and (metric in ("throughput", "speedup") or (metric or "").startswith("latency")):
        return True  # "vLLM raises throughput 2-4x": a serving stack's claim, whatever model it names
    methods = {clean(claim.get(f"{s}_method")) for s in ("subject", "baseline")} - {None}
    if methods - QUANT_METHODS - SERVING_METHODS:
        return False  # routing rules, attention kernels: the other suites' measurements, or none
    model = clean(claim.get("subject_model"))
    return bool(metric in ("throughput", "speedup") or (metric or "").startswith("latency")) and bool(
        model and resolve(model, registry) is not None)


def read_llm_claim(claim: dict, registry: dict[str, ModelSpec] | None = None) -> LLMReading | None:
    """The LLM reading of a claim row, or None when it is not an LLM-serving claim."""
    if not is_llm_claim(claim, registry):
        return None
    reg = registry if registry is not None else load_registry()
    model = clean(claim.get("subject_model"))
    spec = resolve(model, reg) if model else None
    note = "" if spec else (family_note(model, reg) if model else "the claim names no model")
    metric = clean(claim.get("metric"))
    if clean(claim.get("unit")) == "tokens/s":
        metric = "token_throughput"
    elif metric and metric.startswith("latency"):
        metric = "e2e"
    precision = clean(claim.get("subject_precision"))
    method = clean(claim.get("subject_method"))
    batch, rng = _batch(claim.get("subject_batch"))
    conc = _int(claim.get("condition_concurrency"))
    return LLMReading(
        kind=clean(claim.get("kind")) or "", metric=metric, value=as_number(claim.get("value")),
        unit=clean(claim.get("unit")), spec=spec, model=model, model_note=note,
        device=clean(claim.get("subject_device")), backend=clean(claim.get("subject_backend")),
        precision=precision, quant_method=method if method in QUANT_METHODS else None,
        batch=batch if batch is not None else (conc if rng is None else None), batch_range=rng,
        input_len=_int(claim.get("condition_input_len")) or _int(claim.get("condition_seq_len")),
        output_len=_int(claim.get("condition_output_len")), concurrency=conc,
        scope=clean(claim.get("condition_token_scope")), qualifier=clean(claim.get("qualifier")))
