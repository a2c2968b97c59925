"""One POST to an OpenAI-compatible endpoint (embeddings, chat completions), retried on 5xx and
connection errors (urllib3's Retry, honouring Retry-After), with errors that say what failed."""
from __future__ import annotations

import os

import requests

from .retries import mount_retries, retry_policy


def post_json(base_url: str, path: str, body: dict, api_key_env: str | None, timeout_s: float,
              error: type[Exception], what: str, retries: int = 2, backoff_s: float = 0.5) -> tuple[str, object]:
    """POST `body` to `base_url` + `path`; return (endpoint, decoded JSON answer).

    The bearer key is read from the environment variable named `api_key_env` (none sent when unset).
    5xx answers and connection errors are retried `retries` times (waits of `backoff_s`, doubled each time,
    or the server's Retry-After): embedding and chat requests change nothing on the server, so POST is safe
    to repeat. Unreachable endpoints, non-200 answers and non-JSON bodies raise `error` naming `what` and
    the endpoint."""
    endpoint = base_url.rstrip("/") + path
    headers = {"Content-Type": "application/json"}
    key = os.environ.get(api_key_env or "", "")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    try:
        with mount_retries(requests.Session(), retry_policy(retries, backoff_s, methods=("POST",))) as session:
            resp = session.post(endpoint, json=body, headers=headers, timeout=timeout_s)
    except requests.RequestException as exc:
        raise error(f"{what} endpoint {endpoint} unreachable: {exc}") from exc
    if resp.status_code != 200:
        raise error(f"{what} endpoint {endpoint} answered {resp.status_code}: {resp.text[:300]}")
    try:
        return endpoint, resp.json()
    except ValueError as exc:
        raise error(f"{what} endpoint {endpoint} answered 200 with a body that is not JSON: {resp.text[:200]!r}") from exc
