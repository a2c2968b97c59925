"""Optional claim extraction through an OpenAI-compatible chat endpoint (`claims.backend: openai`).

Each sentence that holds a number is sent to `/v1/chat/completions` with a JSON schema of the
claim structure. The answer is validated with jsonschema; an invalid one (not JSON, or not the
schema) is asked again up to `claims.retries` times and then recorded as a failed row with the
last error. Transport failures (unreachable, timeout, non-200) are failed rows too. Such claims
are the model's statements, not the paper's words: `verbatim` is False and the paper's sentence
is kept in `source_sentence`. The rule-based reading of the same sentence stays beside them.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

import jsonschema

from ..openai_compat import post_json
from .errors import ClaimsConfigError, ClaimsLLMError
from .parse import CONDITIONS, KINDS, SIDE

log = logging.getLogger(__name__)
QUALIFIERS = ["exact", "up_to", "at_least", "at_most", "approx"]
_NUM = {"type": ["number", "null"]}
_STR = {"type": ["string", "null"]}
_SIDE = {"type": "object", "additionalProperties": False, "properties": {k: _STR for k in SIDE}}
CLAIM_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "required": ["statement", "kind", "metric", "unit", "qualifier"],
    "properties": {
        "statement": {"type": "string", "minLength": 1, "description": "the claim in one short sentence"},
        "kind": {"enum": [k for k in KINDS if k != "not_empirical"]},
        "metric": {"type": "string", "minLength": 1},
        "value": _NUM, "value_from": _NUM, "value_to": _NUM, "low": _NUM, "high": _NUM,
        "unit": _STR, "qualifier": {"enum": QUALIFIERS},
        "subject": _SIDE, "baseline": _SIDE,
        "condition": {"type": "object", "additionalProperties": False, "properties": {
            k: {"enum": ["per_sequence", "aggregate", None]} if k == "token_scope" else _NUM for k in CONDITIONS}},
    },
}
SCHEMA = {"type": "object", "additionalProperties": False, "required": ["claims"],
          "properties": {"claims": {"type": "array", "items": CLAIM_SCHEMA}}}
_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
PROMPT = (
    "You read sentences from papers about machine-learning inference performance and return their "
    "empirical claims as JSON matching the given schema: {\"claims\": [...]}, an empty list when the "
    "sentence claims nothing measurable. kind: absolute (a measured value), ratio (Nx), change (a "
    "percentage or from/to), batch_range, spec (a datasheet figure). metric: throughput, "
    "token_throughput (tokens/s), latency, latency_p50/p90/p99, ttft, tpot, speedup, memory, bandwidth, "
    "compute, power, energy, accuracy, utilization. unit: images/s, tokens/s, queries/s, ms, µs, s, x, "
    "%, GB, TB/s, TFLOP/s, W. Decreases are negative percentages. condition: seq_len, input_len and "
    "output_len in tokens, concurrency (concurrent requests), token_scope (per_sequence when tokens/s is one "
    "request's, aggregate when it is all requests' together). Answer with the JSON object only.")
HAS_NUMBER = re.compile(r"\d")


@dataclass
class LLMConfig:
    """The openai backend's settings from the `claims:` config section."""
    endpoint: str
    model: str
    timeout_s: float = 60.0
    retries: int = 2
    api_key_env: str = ""

    def __post_init__(self):
        if not self.endpoint:
            raise ClaimsConfigError("claims.endpoint must name the OpenAI-compatible base URL when claims.backend is openai")
        if not self.model:
            raise ClaimsConfigError("claims.model must name the chat model when claims.backend is openai")
        if float(self.timeout_s) <= 0:
            raise ClaimsConfigError(f"claims.timeout_s must be positive, got {self.timeout_s}")
        if int(self.retries) < 0:
            raise ClaimsConfigError(f"claims.retries must be 0 or more, got {self.retries}")


def parse_answer(answer: object) -> list[dict]:
    """The claims of one chat-completions answer; raises ValueError saying what is wrong with it."""
    try:
        content = answer["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"answer has no choices[0].message.content ({type(exc).__name__}: {exc})") from exc
    text = (content or "").strip()
    fence = re.match(r"^```(?:json)?\s*(.*?)\s*```$", text, re.S)  # some servers wrap JSON in a code fence
    text = fence.group(1) if fence else text
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"content is not JSON ({exc.msg} at char {exc.pos}): {text[:80]!r}") from exc
    errors = sorted(_VALIDATOR.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        raise ValueError(f"content does not match the claim schema at {where}: {e.message[:200]}")
    return data["claims"]


def _row(claim: dict, sentence: str, index: int) -> dict:
    row = {"sentence": claim["statement"], "source_sentence": sentence, "claim_index": index,
           "kind": claim["kind"], "metric": claim["metric"], "unit": claim.get("unit"),
           "qualifier": claim["qualifier"], "extractor": "llm", "verbatim": False, "status": "ok", "reason": ""}
    if row["unit"] == "tokens/s" and row["metric"] == "throughput":
        row["metric"] = "token_throughput"  # as the rules read it: no suite measures tokens/s
    for k in ("value", "value_from", "value_to", "low", "high"):
        row[k] = claim.get(k)
    for side in ("subject", "baseline"):
        for k in SIDE:
            v = (claim.get(side) or {}).get(k)
            row[f"{side}_{k}"] = str(v).lower() if v not in (None, "") else None
    for k in CONDITIONS:
        v = (claim.get("condition") or {}).get(k)
        if v is None or isinstance(v, str):
            row[f"condition_{k}"] = v
        else:
            row[f"condition_{k}"] = str(int(v)) if float(v).is_integer() else str(v)
    nums = [row[k] for k in ("value", "value_from", "value_to", "low", "high") if row[k] is not None]
    row["numbers"] = ",".join(str(int(n)) if float(n).is_integer() else str(n) for n in nums)
    return row


def failed_row(sentence: str, reason: str) -> dict:
    """A claims row recording that the model gave no usable reading of `sentence`."""
    row = {"sentence": "", "source_sentence": sentence, "claim_index": 0, "kind": None, "metric": None,
           "unit": None, "qualifier": None, "extractor": "llm", "verbatim": False, "status": "failed",
           "reason": reason[:500], "numbers": ""}
    row.update({k: None for k in ("value", "value_from", "value_to", "low", "high")})
    row.update({f"{s}_{k}": None for s in ("subject", "baseline") for k in SIDE})
    row.update({f"condition_{k}": None for k in CONDITIONS})
    return row


class LLMExtractor:
    """Claims of sentences through one chat endpoint, with validation, retries and failure rows."""

    def __init__(self, cfg: LLMConfig):
        self.cfg = cfg

    def _ask(self, sentence: str, note: str = "") -> object:
        messages = [{"role": "system", "content": PROMPT},
                    {"role": "user", "content": sentence if not note else f"{sentence}\n\n(Your last answer was invalid: {note}. "
                                                                            "Answer with JSON matching the schema only.)"}]
        body = {"model": self.cfg.model, "messages": messages, "temperature": 0,
                "response_format": {"type": "json_schema", "json_schema": {"name": "claims", "schema": SCHEMA}}}
        _, answer = post_json(self.cfg.endpoint, "/v1/chat/completions", body, self.cfg.api_key_env or None,
                              float(self.cfg.timeout_s), ClaimsLLMError, "claims chat",
                              retries=int(self.cfg.retries))  # 5xx/timeouts: the same budget as invalid answers
        return answer

    def sentence_claims(self, sentence: str) -> list[dict]:
        """Rows for one sentence: its claims, or one failed row with the reason."""
        note = ""
        for attempt in range(int(self.cfg.retries) + 1):
            try:
                claims = parse_answer(self._ask(sentence, note))
            except ClaimsLLMError as exc:
                return [failed_row(sentence, str(exc))]
            except ValueError as exc:
                note = str(exc)
                log.info("claims chat: invalid answer %d for %r: %s", attempt + 1, sentence[:60], note)
                continue
            return [_row(c, sentence, i) for i, c in enumerate(claims)]
        return [failed_row(sentence, f"invalid answer after {int(self.cfg.retries) + 1} attempts: {note}")]

    def parse(self, sentence: str) -> list[dict]:
        """The successful claims of one sentence (the accuracy scorer's interface)."""
        return [r for r in self.sentence_claims(sentence) if r["status"] == "ok"]
