"""The openai claims backend against a real HTTP server on 127.0.0.1: valid, invalid, slow and failing answers."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from sovereign.claims.errors import ClaimsConfigError
from sovereign.claims.extract import CLAIM_COLUMNS, ClaimsConfig, claims_frame
from sovereign.claims.llm import SCHEMA, LLMConfig, LLMExtractor, parse_answer

SENTENCE = "vLLM reaches 2,300 tokens/s for Llama-2 13B on an A100."
GOOD = {"claims": [{"statement": "vLLM generates 2300 tokens/s for Llama-2 13B on an A100.", "kind": "absolute",
                    "metric": "throughput", "value": 2300, "unit": "tokens/s", "qualifier": "exact",
                    "subject": {"device": "A100", "model": "llama-2-13b", "backend": "vllm"},
                    "condition": {"seq_len": 2048}}]}
BAD_SCHEMA = {"claims": [{"statement": "x", "kind": "guess", "metric": "throughput", "unit": None, "qualifier": "exact"}]}


class ChatServer:
    """Answers POST /v1/chat/completions with queued behaviours; records the bodies it was sent."""

    def __init__(self):
        self.behaviours: list[str] = []
        self.bodies: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.bodies.append({"path": self.path, **body})
                what = server.behaviours.pop(0) if server.behaviours else "valid"
                if what == "500":
                    return self._send(500, b'{"error": "model crashed"}')
                if what == "slow":
                    time.sleep(1.5)
                content = {"valid": json.dumps(GOOD), "fenced": "```json\n" + json.dumps(GOOD) + "\n```",
                           "not_json": "Sure! The sentence says vLLM is fast.", "bad_schema": json.dumps(BAD_SCHEMA),
                           "slow": json.dumps(GOOD), "empty": json.dumps({"claims": []})}[what]
                answer = {"id": "x", "object": "chat.completion", "model": body.get("model"),
                          "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
                self._send(200, json.dumps(answer).encode())

            def _send(self, code, data):
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except BrokenPipeError:  # the client timed out first
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def chat():
    server = ChatServer()
    yield server
    server.close()


def extractor(chat, **kw) -> LLMExtractor:
    return LLMExtractor(LLMConfig(endpoint=chat.url, model="test-model", timeout_s=kw.pop("timeout_s", 5), **kw))


def test_valid_answer_becomes_non_verbatim_claims(chat):
    (row,) = extractor(chat).sentence_claims(SENTENCE)
    assert row["status"] == "ok" and row["extractor"] == "llm" and row["verbatim"] is False
    assert row["sentence"] == GOOD["claims"][0]["statement"] and row["source_sentence"] == SENTENCE
    assert (row["kind"], row["metric"], row["value"], row["unit"]) == ("absolute", "token_throughput", 2300, "tokens/s")
    assert (row["subject_device"], row["subject_model"], row["condition_seq_len"]) == ("a100", "llama-2-13b", "2048")
    (body,) = chat.bodies
    assert body["path"] == "/v1/chat/completions" and body["model"] == "test-model"
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA and body["messages"][-1]["content"] == SENTENCE


@pytest.mark.parametrize("first", ["not_json", "bad_schema"])
def test_invalid_answer_is_asked_again_then_accepted(chat, first):
    chat.behaviours = [first, "fenced"]
    rows = extractor(chat, retries=2).sentence_claims(SENTENCE)
    assert [r["status"] for r in rows] == ["ok"] and len(chat.bodies) == 2
    assert "Your last answer was invalid" in chat.bodies[1]["messages"][-1]["content"]


def test_always_invalid_answer_is_a_failed_row_naming_the_error(chat):
    chat.behaviours = ["not_json", "bad_schema", "bad_schema"]
    (row,) = extractor(chat, retries=2).sentence_claims(SENTENCE)
    assert row["status"] == "failed" and len(chat.bodies) == 3
    assert row["reason"].startswith("invalid answer after 3 attempts: content does not match the claim schema at claims/0/kind")
    assert row["source_sentence"] == SENTENCE and row["kind"] is None


def test_slow_endpoint_times_out_into_a_failed_row(chat):
    chat.behaviours = ["slow"]
    t0 = time.perf_counter()
    (row,) = extractor(chat, timeout_s=0.3, retries=0).sentence_claims(SENTENCE)
    assert time.perf_counter() - t0 < 1.4
    assert row["status"] == "failed" and "unreachable" in row["reason"] and chat.url in row["reason"]


def test_server_error_is_a_failed_row_with_the_status(chat):
    chat.behaviours = ["500"] * 5  # enough for any transport retries post_json makes
    (row,) = extractor(chat, retries=0).sentence_claims(SENTENCE)
    assert row["status"] == "failed" and "answered 500" in row["reason"]


@pytest.mark.parametrize("answer,match", [
    ({"choices": []}, "no choices"),
    ({"choices": [{"message": {"content": "[1, 2]"}}]}, "at \\(top level\\)"),
    ({"choices": [{"message": {"content": '{"claims": [{"statement": "s"}]}'}}]}, "claims/0"),
])
def test_parse_answer_names_what_is_wrong(answer, match):
    with pytest.raises(ValueError, match=match):
        parse_answer(answer)


def test_config_errors_name_the_key():
    with pytest.raises(ClaimsConfigError, match="claims.endpoint"):
        LLMConfig(endpoint="", model="m")
    with pytest.raises(ClaimsConfigError, match="claims.model"):
        LLMConfig(endpoint="http://127.0.0.1:1", model="")
    with pytest.raises(ClaimsConfigError, match="claims.backend"):
        ClaimsConfig(backend="gpt")


def test_claims_frame_keeps_rules_and_llm_readings_side_by_side(chat):
    chat.behaviours = ["valid", "not_json", "not_json"]
    papers = pd.DataFrame([{"study": "s", "paper_id": "p1", "title": "Serving", "kept": True,
                            "abstract": f"{SENTENCE} We thank the reviewers. The H100 reaches 3,000 tokens/s."}])
    cfg = ClaimsConfig(backend="openai", endpoint=chat.url, model="m", retries=1, tables=False)
    df = claims_frame("s", papers, None, cfg, progress=False)
    assert list(df.columns) == CLAIM_COLUMNS and df["claim_id"].is_unique
    assert len(chat.bodies) == 3  # the sentence without a number is not sent
    rules, llm = df[df["extractor"] == "rules"], df[df["extractor"] == "llm"]
    assert len(rules) == 2 and rules["verbatim"].all() and set(rules["status"]) == {"ok"}
    assert list(llm["status"]) == ["ok", "failed"] and not llm["verbatim"].any()
    assert llm.iloc[1]["source_sentence"] == "The H100 reaches 3,000 tokens/s."
    assert set(df["source"]) == {"sentence"}
