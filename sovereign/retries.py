"""HTTP retries for the arXiv and OpenAI-compatible clients: urllib3's Retry mounted on a requests session."""
from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

SERVER_ERRORS = tuple(range(500, 600))


class BackoffRetry(Retry):
    """urllib3's Retry, but the first retry already waits `backoff_factor` seconds (urllib3 waits 0),
    and a server's Retry-After is honoured up to `backoff_max` seconds, so a bad header cannot stall a job."""

    def get_backoff_time(self) -> float:
        """Seconds before the next retry: backoff_factor, then doubled each time, at most backoff_max."""
        errors = 0
        for past in reversed(self.history):
            if past.redirect_location is not None:
                break
            errors += 1
        if errors == 0:
            return 0.0
        return float(min(self.backoff_max, self.backoff_factor * 2 ** (errors - 1)))

    def get_retry_after(self, response):
        """The server's Retry-After in seconds (None when absent), capped at backoff_max."""
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.backoff_max)


def retry_policy(retries: int, backoff_s: float, methods=("GET",), backoff_max_s: float = 120.0) -> Retry:
    """Retry 5xx answers, connection errors and read timeouts `retries` times with exponential backoff,
    honouring Retry-After; the last answer is handed back (not raised) so callers can name its status."""
    return BackoffRetry(total=retries, connect=retries, read=retries, status=retries, other=0, redirect=5,
                        status_forcelist=SERVER_ERRORS, allowed_methods=frozenset(methods),
                        backoff_factor=backoff_s, backoff_max=backoff_max_s,
                        respect_retry_after_header=True, raise_on_status=False)


def mount_retries(session: requests.Session, policy: Retry) -> requests.Session:
    """Mount `policy` on the session for http:// and https:// URLs; return the session."""
    adapter = HTTPAdapter(max_retries=policy)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def attempts(policy: Retry) -> int:
    """How many requests a policy makes at most before giving up (the first one and its retries)."""
    return int(policy.total or 0) + 1
