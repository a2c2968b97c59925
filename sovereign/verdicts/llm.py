"""Optional LLM role backend: any OpenAI-compatible /chat/completions endpoint adds its own rationale.

The deterministic score is always kept; the model's answer is stored beside it (llm_score, llm_rationale).
"""
from __future__ import annotations

import json
import logging
import re

from ..openai_compat import post_json
from .errors import LLMBackendError
from .settings import LLMConfig

log = logging.getLogger(__name__)

ROLE_PROMPTS = {
    "SKEPTIC": "You are the SKEPTIC of a research tribunal. Look for topic drift, contradicted or unreproduced "
               "claims, implausible numbers and weak methods.",
    "VALIDATOR": "You are the VALIDATOR of a research tribunal. Weigh grounded, reproduced and independently "
                 "supported claims.",
    "SYNTHESIZER": "You are the SYNTHESIZER of a research tribunal. Combine the other roles into one judgement.",
}
INSTRUCTION = ("Answer with a JSON object {\"score\": <0-10>, \"rationale\": \"<itemised, citing claim ids, "
               "bench rows and paper ids>\"}.")


def ask(cfg: LLMConfig, role: str, summary: dict) -> dict:
    """Ask the endpoint for one role's view; return {'llm_score', 'llm_rationale', 'llm_model'}."""
    body = {"model": cfg.model, "temperature": 0, "max_tokens": cfg.max_tokens,
            "messages": [{"role": "system", "content": ROLE_PROMPTS[role] + " " + INSTRUCTION},
                         {"role": "user", "content": json.dumps(summary, ensure_ascii=False, default=str)}]}
    endpoint, answer = post_json(cfg.url, "/chat/completions", body, cfg.api_key_env, cfg.timeout_s, LLMBackendError, "LLM")
    try:
        content = answer["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise LLMBackendError(f"LLM endpoint {endpoint} sent an answer without choices[0].message.content") from exc
    score, rationale = None, str(content).strip()
    match = re.search(r"\{.*\}", rationale, re.S)
    if match:
        try:
            parsed = json.loads(match.group(0))
            score = float(parsed["score"]) if parsed.get("score") is not None else None
            rationale = str(parsed.get("rationale", rationale))
        except (ValueError, TypeError, KeyError):
            pass
    if score is not None and not 0 <= score <= 10:
        score = None
    return {"llm_score": score, "llm_rationale": rationale, "llm_model": cfg.model}


def ask_or_note(cfg: LLMConfig, role: str, summary: dict) -> dict:
    """ask(), but a failing endpoint becomes a recorded note, never a lost deterministic verdict."""
    if not cfg.enabled:
        return {"llm_score": None, "llm_rationale": None, "llm_model": None}
    try:
        return ask(cfg, role, summary)
    except LLMBackendError as exc:
        log.warning("%s", exc)
        return {"llm_score": None, "llm_rationale": f"LLM backend failed: {exc}", "llm_model": cfg.model}
