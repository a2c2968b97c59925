"""Embedding backends: a real OpenAI-compatible endpoint on 127.0.0.1, and the offline MiniLM model."""
from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from sovereign.errors import EmbeddingError
from sovereign.literature.embeddings import embed, method_name


def _vector(text: str, dims: int = 32) -> list[float]:
    """A deterministic bag-of-words vector, so similar texts get similar vectors."""
    v = np.zeros(dims)
    for word in text.lower().split():
        v[int(hashlib.md5(word.encode()).hexdigest(), 16) % dims] += 1.0
    return v.tolist()


class EmbeddingServer:
    """Speaks POST /v1/embeddings like OpenAI and NVIDIA NIM; `mode` injects failures."""

    def __init__(self):
        self.mode, self.calls = "ok", []
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                srv.calls.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                if srv.mode == "500" or (srv.mode == "500-once" and len(srv.calls) == 1):
                    return self._send(500, {"error": "overloaded"})
                if srv.mode == "garbage":
                    return self._send(200, {"result": "nope"})
                data = [{"object": "embedding", "index": i, "embedding": _vector(t)} for i, t in enumerate(body["input"])]
                if srv.mode == "short":
                    data = data[:-1]
                self._send(200, {"object": "list", "data": list(reversed(data)), "model": body["model"]})

            def _send(self, code, obj):
                raw = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server():
    s = EmbeddingServer()
    yield s
    s.close()


def cfg(server, **kw):
    c = {"backend": "openai", "url": server.url, "model": "nvidia/nv-embedqa-e5-v5", "api_key_env": "TEST_EMBED_KEY",
         "batch_size": 2, "timeout_s": 5}
    c.update(kw)
    return c


def test_openai_endpoint_batches_orders_and_normalises(server, monkeypatch):
    monkeypatch.setenv("TEST_EMBED_KEY", "secret")
    texts = ["gpu inference latency", "gpu inference throughput", "protein folding biology"]
    mat = embed(texts, cfg(server))
    assert mat.shape == (3, 32)
    assert np.allclose(np.linalg.norm(mat, axis=1), 1.0)
    expected = np.array([_vector(t) for t in texts])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.allclose(mat, expected, atol=1e-6)  # reordered by index despite reversed answer
    assert [len(c["body"]["input"]) for c in server.calls] == [2, 1]
    assert server.calls[0]["path"] == "/v1/embeddings"
    assert server.calls[0]["body"]["model"] == "nvidia/nv-embedqa-e5-v5"
    assert server.calls[0]["auth"] == "Bearer secret"
    assert method_name(cfg(server)) == "openai:nvidia/nv-embedqa-e5-v5"


@pytest.mark.parametrize("mode,message", [("500", "answered 500"), ("garbage", "without data"),
                                          ("short", "returned 1 vectors for 2 texts")])
def test_openai_endpoint_failures_are_clear(server, mode, message):
    server.mode = mode
    with pytest.raises(EmbeddingError, match=message):
        embed(["a b", "c d"], cfg(server))


def test_openai_endpoint_5xx_is_retried(server):
    server.mode = "500-once"
    mat = embed(["gpu latency"], cfg(server))
    assert mat.shape == (1, 32)
    assert len(server.calls) == 2  # the 500, then the answer


def test_openai_endpoint_gives_up_after_its_retries(server):
    server.mode = "500"
    with pytest.raises(EmbeddingError, match="answered 500"):
        embed(["a b"], cfg(server))
    assert len(server.calls) == 3  # the first request and two retries


def test_openai_backend_needs_url(server):
    with pytest.raises(EmbeddingError, match="embeddings.url is empty"):
        embed(["x"], cfg(server, url=""))
    with pytest.raises(EmbeddingError, match="unreachable"):
        embed(["x"], cfg(server, url="http://127.0.0.1:9/v1", timeout_s=1))


def test_none_backend_returns_none():
    assert embed(["x"], {"backend": "none"}) is None


def test_minilm_offline_model_gives_meaningful_similarities():
    mat = embed(["GPU inference latency on NVIDIA L4", "Latency of inference on an L4 graphics card",
                 "A recipe for sourdough bread"], {"backend": "minilm", "batch_size": 8})
    assert mat.shape == (3, 384)
    assert mat[0] @ mat[1] > mat[0] @ mat[2] + 0.2


def test_numpy_minilm_matches_sentence_transformers_vectors():
    """tests/fixtures/minilm_reference.json holds vectors sentence-transformers computed for the same model
    (its `made_with` says how): the NumPy encoder gives the same ones, batched and padded or not, including an
    empty text, a text truncated at 256 tokens and non-Latin scripts."""
    ref = json.loads((Path(__file__).parent / "fixtures" / "minilm_reference.json").read_text(encoding="utf-8"))
    want = np.array(ref["vectors"], dtype=np.float32)
    for batch_size in (64, 3, 1):
        got = embed(ref["texts"], {"backend": "minilm", "batch_size": batch_size})
        assert got.shape == want.shape
        assert np.min(np.sum(got * want, axis=1)) > 0.9999, batch_size
        assert np.abs(got - want).max() < 1e-3
