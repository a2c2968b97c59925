"""Whole models from registry facts: transformers' own classes, random weights made on the device, drawn token ids."""
from __future__ import annotations

import contextlib

from .registry import ModelSpec

DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
BYTES = {"fp32": 4, "fp16": 2, "bf16": 2}


def _torch_dtype(precision: str):
    import torch

    return getattr(torch, DTYPES[precision])


def hf_config(spec: ModelSpec):
    """The transformers config object of `spec`'s family, built from the registry facts (no hub access)."""
    import transformers as tf

    extra = dict(spec.extra)
    if "rope_theta" in extra:  # transformers 5 keeps RoPE settings in rope_parameters
        extra["rope_parameters"] = {"rope_type": "default", "rope_theta": float(extra.pop("rope_theta"))}
    common = {"vocab_size": spec.vocab, "attn_implementation": "sdpa", "use_cache": True}
    if spec.family in ("llama", "mistral", "mixtral", "qwen2"):
        cls = {"llama": tf.LlamaConfig, "mistral": tf.MistralConfig, "mixtral": tf.MixtralConfig,
               "qwen2": tf.Qwen2Config}[spec.family]
        kw = dict(hidden_size=spec.hidden, intermediate_size=spec.ffn, num_hidden_layers=spec.layers,
                  num_attention_heads=spec.heads, num_key_value_heads=spec.kv_heads,
                  max_position_embeddings=spec.max_context, head_dim=spec.head_dim)
        if spec.is_moe:
            kw.update(num_local_experts=spec.n_experts, num_experts_per_tok=spec.top_k)
        return cls(**kw, **common, **extra)
    if spec.family == "gpt2":
        return tf.GPT2Config(n_embd=spec.hidden, n_layer=spec.layers, n_head=spec.heads, n_inner=spec.ffn,
                             n_positions=spec.max_context, **common, **extra)
    if spec.family == "opt":
        return tf.OPTConfig(hidden_size=spec.hidden, ffn_dim=spec.ffn, num_hidden_layers=spec.layers,
                            num_attention_heads=spec.heads, max_position_embeddings=spec.max_context,
                            **common, **extra)
    if spec.family == "falcon":
        return tf.FalconConfig(hidden_size=spec.hidden, num_hidden_layers=spec.layers, num_attention_heads=spec.heads,
                               num_kv_heads=spec.kv_heads, ffn_hidden_size=spec.ffn,
                               max_position_embeddings=spec.max_context, **common, **extra)
    if spec.family == "gpt_neox":
        return tf.GPTNeoXConfig(hidden_size=spec.hidden, num_hidden_layers=spec.layers, num_attention_heads=spec.heads,
                                intermediate_size=spec.ffn, max_position_embeddings=spec.max_context,
                                **common, **extra)
    raise ValueError(f"no transformers config for family {spec.family!r}")


def model_class(spec: ModelSpec):
    """The causal-LM class of the family."""
    import transformers as tf

    return {"llama": tf.LlamaForCausalLM, "mistral": tf.MistralForCausalLM, "mixtral": tf.MixtralForCausalLM,
            "qwen2": tf.Qwen2ForCausalLM, "gpt2": tf.GPT2LMHeadModel, "opt": tf.OPTForCausalLM,
            "falcon": tf.FalconForCausalLM, "gpt_neox": tf.GPTNeoXForCausalLM}[spec.family]


@contextlib.contextmanager
def _quiet_init():
    """Skip transformers' per-module init (slow on large models): weights are filled once, afterwards."""
    import transformers.modeling_utils as mu

    with mu.no_init_weights() if hasattr(mu, "no_init_weights") else contextlib.nullcontext():
        yield


def build_model(spec: ModelSpec, precision: str, device: str, seed: int = 0):
    """`spec` as a transformers model in eval mode, its weights drawn N(0, 0.02) directly on `device` in `precision`."""
    import torch

    cfg = hf_config(spec)
    dtype = _torch_dtype(precision)
    with torch.device(device), _quiet_init():
        model = model_class(spec)._from_config(cfg, dtype=dtype)
    gen = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.device.type == "meta":
                raise RuntimeError(f"parameter {name} stayed on the meta device")
            if p.dim() == 1:  # norms' scales and biases: ones / zeros, as a trained model starts
                p.fill_(1.0 if "weight" in name or name.endswith(".g") else 0.0)
            else:  # random values, never zeros: zeros can run faster than real data
                p.normal_(0.0, 0.02, generator=gen)
    return model.eval()


def count_params(spec: ModelSpec) -> int:
    """Parameters of the model transformers builds from `spec` (on the meta device: no memory used)."""
    import torch

    with torch.device("meta"):
        model = model_class(spec)._from_config(hf_config(spec))
    return sum(p.numel() for p in model.parameters())


def draw_ids(spec: ModelSpec, batch: int, length: int, seed: int, device: str = "cpu"):
    """`batch` x `length` token ids drawn uniformly from the vocabulary with a seeded generator (no tokenizer)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, spec.vocab, (batch, length), generator=gen).to(device)


def weights_bytes(spec: ModelSpec, precision: str) -> int:
    """Bytes the weights occupy in `precision`."""
    return spec.params * BYTES[precision]


def kv_cache_bytes(spec: ModelSpec, precision: str, batch: int, context: int) -> int:
    """Bytes of a KV cache holding `context` tokens for each of `batch` sequences."""
    return spec.kv_bytes_per_token(BYTES[precision]) * batch * context


def decode_step_bytes(spec: ModelSpec, precision: str, batch: int, context: int) -> int:
    """Bytes one decode step reads at least: the weights it uses plus the KV cache at `context` tokens."""
    return weight_bytes_read(spec, precision, batch) + kv_cache_bytes(spec, precision, batch, context)


def weight_bytes_read(spec: ModelSpec, precision: str, batch: int) -> int:
    """Weight bytes one decode step of `batch` tokens touches (MoE: the experts `batch` x top_k picks can reach)."""
    if not spec.is_moe:
        return weights_bytes(spec, precision)
    per_expert = 3 * spec.hidden * spec.ffn
    reached = min(spec.n_experts, batch * spec.top_k)
    return (spec.params - spec.layers * (spec.n_experts - reached) * per_expert) * BYTES[precision]


def memory_needed(spec: ModelSpec, precision: str, batch: int, context: int) -> dict:
    """Weights, KV cache and a prefill working-set estimate in bytes, and their sum."""
    w = weights_bytes(spec, precision)
    kv = kv_cache_bytes(spec, precision, batch, context)
    # prefill activations: a few hidden-size buffers and one FFN-size buffer per token (one layer at a time)
    act = batch * context * (4 * spec.hidden + 2 * spec.ffn) * BYTES[precision] + batch * spec.vocab * 4
    return {"weights": w, "kv_cache": kv, "activations": act, "total": w + kv + act}
