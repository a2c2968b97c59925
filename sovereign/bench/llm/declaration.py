"""What the llm suite can measure, as data the verdicts stage reads (it should not need the suite's name)."""
from __future__ import annotations

from .backends import BACKENDS

DECLARATION = {
    "suite": "llm",
    # metric -> (row column, unit); percentiles are the _p90/_p99 siblings of each _p50 column
    "metrics": {
        "ttft": ("ttft_ms_p50", "ms"),
        "tpot": ("tpot_ms_p50", "ms"),
        "inter_token_latency": ("itl_ms_p50", "ms"),
        "e2e_latency": ("e2e_ms_p50", "ms"),
        "prefill_latency": ("prefill_ms_p50", "ms"),
        "tokens_per_s": ("output_tokens_per_s", "tokens/s"),  # aggregate over the batch
        "tokens_per_s_per_seq": ("tokens_per_s_per_seq", "tokens/s"),  # decode speed of one sequence
        "total_tokens_per_s": ("total_tokens_per_s", "tokens/s"),
        "requests_per_s": ("throughput_ips", "requests/s"),
        "peak_memory": ("peak_mem_mb", "MB"),
        "energy_per_token": ("energy_j_per_token", "J/token"),
        "decode_bandwidth": ("decode_bw_tbs", "TB/s"),
        "roofline_share": ("roofline_share", "fraction"),
        "compile_time": ("compile_s", "s"),
    },
    # claim fields a row is matched on, and the row column that holds each
    "claim_fields": {"model": "model", "backend": "backend", "precision": "precision", "batch": "batch_size",
                     "input_len": "input_len", "output_len": "output_len", "device": "device",
                     "hardware": "hardware", "model_family": "model_family", "params_b": "params_b"},
    "backends": list(BACKENDS),
    # what each measured backend stands for when a claim names a framework (never a faster path)
    "backend_aliases": {"hf_eager": ["hf transformers", "transformers", "huggingface", "hugging face", "hf generate"],
                        "hf_static_compile": ["transformers static cache", "transformers torch.compile"],
                        "fast_decode": ["pytorch", "gpt-fast", "torch.compile", "cuda graphs"]},
    # serving engines a claim may name that this suite cannot run: such claims are UNTESTABLE naming them
    "not_runnable": ["vllm", "tensorrt-llm", "llama.cpp", "deepspeed", "deepspeed-mii", "sglang", "tgi",
                     "text-generation-inference", "exllama", "mlc-llm", "lmdeploy", "ctranslate2", "onnxruntime-genai"],
    "precisions": ["fp32", "fp16", "bf16"],
    "registry": "config/models.yaml",
}


def declaration() -> dict:
    """A copy of the llm suite's declaration."""
    import copy

    return copy.deepcopy(DECLARATION)
