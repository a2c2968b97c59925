"""The model registry (config/models.yaml): architecture facts per model and the spellings claims use."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).resolve().parents[3] / "config" / "models.yaml"
FAMILIES = ("llama", "mistral", "mixtral", "gpt2", "opt", "falcon", "qwen2", "gpt_neox")
_REQUIRED = ("family", "size", "hidden", "layers", "heads", "kv_heads", "ffn", "vocab", "max_context")
# Hub organisations and variant suffixes that do not change the architecture.
_ORGS = ("meta-llama", "mistralai", "facebook", "tiiuae", "qwen", "openai-community", "meta")
_DROP_TOKENS = {"hf", "base", "chat", "instruct", "it", "model", "meta"}


class RegistryError(ValueError):
    """A malformed registry entry; the message names the key."""


@dataclass(frozen=True)
class ModelSpec:
    """One model's architecture facts; `params` is computed from them."""

    key: str
    family: str
    version: str
    size: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int
    max_context: int
    n_experts: int | None = None
    top_k: int | None = None
    published_params_b: float | None = None
    aliases: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, compare=False, hash=False)
    source: str = ""

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def is_moe(self) -> bool:
        return bool(self.n_experts)

    @property
    def params(self) -> int:
        """Parameter count of the transformers model built from these facts (weights and biases)."""
        return _count_params(self)

    @property
    def params_b(self) -> float:
        return self.params / 1e9

    @property
    def active_params(self) -> int:
        """Parameters one token uses (MoE: top_k of n_experts expert MLPs); = params for dense models."""
        if not self.is_moe:
            return self.params
        per_expert = 3 * self.hidden * self.ffn
        return self.params - self.layers * (self.n_experts - self.top_k) * per_expert

    def kv_bytes_per_token(self, bytes_per_value: int) -> int:
        """KV-cache bytes one token of context holds across all layers (K and V)."""
        return 2 * self.layers * self.kv_heads * self.head_dim * bytes_per_value


def _count_params(s: ModelSpec) -> int:
    h, L, V, f, hd = s.hidden, s.layers, s.vocab, s.ffn, s.head_dim
    kv = s.kv_heads * hd
    tied = bool(s.extra.get("tie_word_embeddings", s.family in ("gpt2", "opt", "falcon", "gpt_neox")))
    head = 0 if tied else V * h
    if s.family in ("llama", "mistral", "mixtral", "qwen2"):
        attn = 2 * h * h + 2 * h * kv + (h + 2 * kv if s.family == "qwen2" else 0)
        mlp = 3 * h * f if not s.is_moe else s.n_experts * 3 * h * f + h * s.n_experts
        return V * h + head + L * (attn + mlp + 2 * h) + h
    if s.family == "gpt2":
        layer = (3 * h * h + 3 * h) + (h * h + h) + (h * f + f) + (f * h + h) + 4 * h
        return V * h + s.max_context * h + L * layer + 2 * h + head
    if s.family == "opt":
        layer = 4 * (h * h + h) + (h * f + f) + (f * h + h) + 4 * h
        return V * h + (s.max_context + 2) * h + L * layer + 2 * h + head
    if s.family == "falcon":
        norms = 4 * h if s.extra.get("new_decoder_architecture") else 2 * h
        layer = h * (h + 2 * kv) + h * h + 2 * h * f + norms
        return V * h + L * layer + 2 * h + head
    if s.family == "gpt_neox":
        layer = (3 * h * h + 3 * h) + (h * h + h) + (h * f + f) + (f * h + h) + 4 * h
        return V * h + L * layer + 2 * h + head
    raise RegistryError(f"no parameter formula for family {s.family!r}")


def _spec(key: str, entry: dict) -> ModelSpec:
    if not isinstance(entry, dict):
        raise RegistryError(f"models.{key}: expected a mapping of architecture facts")
    missing = [k for k in _REQUIRED if k not in entry]
    if missing:
        raise RegistryError(f"models.{key}: missing {', '.join(missing)}")
    if entry["family"] not in FAMILIES:
        raise RegistryError(f"models.{key}.family: {entry['family']!r} is not one of {FAMILIES}")
    for k in ("hidden", "layers", "heads", "kv_heads", "ffn", "vocab", "max_context"):
        if not isinstance(entry[k], int) or entry[k] <= 0:
            raise RegistryError(f"models.{key}.{k}: expected a positive integer, got {entry[k]!r}")
    if entry["hidden"] % entry["heads"] or entry["heads"] % entry["kv_heads"]:
        raise RegistryError(f"models.{key}: heads must divide hidden and kv_heads must divide heads")
    moe = entry.get("n_experts"), entry.get("top_k")
    if (entry["family"] == "mixtral") != bool(moe[0]) or bool(moe[0]) != bool(moe[1]):
        raise RegistryError(f"models.{key}: n_experts and top_k are required for MoE families only")
    return ModelSpec(
        key=key, family=entry["family"], version=str(entry.get("version", "")), size=str(entry["size"]),
        hidden=entry["hidden"], layers=entry["layers"], heads=entry["heads"], kv_heads=entry["kv_heads"],
        ffn=entry["ffn"], vocab=entry["vocab"], max_context=entry["max_context"],
        n_experts=moe[0], top_k=moe[1], published_params_b=entry.get("published_params_b"),
        aliases=tuple(entry.get("aliases", ())), extra=dict(entry.get("extra") or {}),
        source=str(entry.get("source", "")))


@lru_cache(maxsize=8)
def _load(path: str) -> dict[str, ModelSpec]:
    data = yaml.safe_load(Path(path).read_text())
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise RegistryError(f"{path}: expected a top-level 'models' mapping")
    return {str(k): _spec(str(k), v) for k, v in data["models"].items()}


def load_registry(path: str | Path | None = None) -> dict[str, ModelSpec]:
    """Registry key -> ModelSpec, from `path` or config/models.yaml."""
    return dict(_load(str(Path(path) if path else DEFAULT_PATH)))


def normalise(name: str) -> str:
    """A spelling folded to the registry's form: 'LLaMA-2 7B', 'llama2-7b-hf' -> 'llama-2-7b'."""
    s = name.strip().lower().split("/")[-1] if "/" in name else name.strip().lower()
    s = re.sub(r"[\s_]+", "-", s)
    s = re.sub(r"\b([a-z]{2,})(\d)", r"\1-\2", s)  # llama2 -> llama-2, gpt2 -> gpt-2
    s = re.sub(r"(\d)-?x-?(\d)", r"\1x\2", s)  # 8 x 7b -> 8x7b
    tokens = [t for t in s.split("-") if t]
    tokens = [t for t in tokens if t not in _DROP_TOKENS and not re.fullmatch(r"v\d+(\.\d+)?", t)]
    return "-".join(tokens)


@lru_cache(maxsize=8)
def _index(path: str) -> dict[str, str]:
    index: dict[str, str] = {}
    for key, spec in _load(path).items():
        for spelling in (key, *spec.aliases):
            index.setdefault(normalise(spelling), key)
    return index


def resolve(name: str, registry: dict[str, ModelSpec] | None = None, path: str | Path | None = None) -> ModelSpec | None:
    """The registry entry a spelling names, or None (an unknown model or a family with an unknown size)."""
    if not name or not name.strip():
        return None
    if registry is None:
        p = str(Path(path) if path else DEFAULT_PATH)
        key = _index(p).get(normalise(name))
        return _load(p)[key] if key else None
    wanted = normalise(name)
    for key, spec in registry.items():
        if wanted in {normalise(s) for s in (key, *spec.aliases)}:
            return spec
    return None
