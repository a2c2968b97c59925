"""The live source: the `arxiv` client with a request timeout, retries with backoff,
a politeness delay, feed validation and an on-disk cache keyed by the query.

The `arxiv` package sets no timeout and treats an unparseable page as an empty
one, so its requests go through a session that adds both: a timeout on every
request and a check that a 200 answer really is an Atom feed. Retries (5xx, connection
errors and timeouts, exponential backoff, honouring arXiv's Retry-After) are urllib3's Retry
mounted on that session; the client's own retries are off.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import arxiv
import requests
from lxml import etree

from ..errors import ArxivError
from ..io import write_json
from ..retries import attempts, mount_retries, retry_policy

log = logging.getLogger(__name__)
ATOM = "{http://www.w3.org/2005/Atom}feed"


class _CheckedSession(requests.Session):
    """A requests session with a default timeout and retries that rejects non-Atom 200 answers."""

    def __init__(self, timeout_s: float, retries: int = 0, backoff_s: float = 0.0):
        super().__init__()
        self.timeout_s = timeout_s
        self.policy = retry_policy(retries, backoff_s)
        mount_retries(self, self.policy)

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout_s)
        resp = super().request(method, url, **kwargs)
        if resp.status_code == 200:
            try:
                root = etree.fromstring(resp.content, parser=etree.XMLParser(resolve_entities=False, no_network=True))
            except etree.XMLSyntaxError as exc:
                raise ArxivError(f"arXiv answered with a malformed feed ({exc}); nothing was cached") from exc
            if root is None or root.tag != ATOM:
                raise ArxivError(f"arXiv answered with XML that is not an Atom feed (root {getattr(root, 'tag', None)!r})")
        return resp


def cache_key(query: str, max_results: int, base_url: str) -> str:
    """The cache file name for a query: same query, same endpoint, same size -> same file."""
    blob = json.dumps([query.strip().lower(), max_results, base_url.rstrip("/")])
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _record(r: arxiv.Result) -> dict:
    return {
        "id": r.get_short_id().split("v")[0] if r.entry_id else "",
        "version_id": r.get_short_id(),
        "title": " ".join((r.title or "").split()),
        "authors": [a.name for a in r.authors],
        "published": r.published.date().isoformat() if r.published else "",
        "categories": list(r.categories or []),
        "abstract": " ".join((r.summary or "").split()),
        "pdf_url": r.pdf_url or "",
    }


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, arxiv.HTTPError):
        return exc.status >= 500
    return isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout))


class ArxivSource:
    """Searches the live arXiv API, relevance-sorted, cached on disk."""

    def __init__(self, base_url: str, timeout_s: float = 30, retries: int = 3, backoff_s: float = 3.0,
                 delay_s: float = 3.0, cache_dir: str | None = None):
        self.base_url = base_url
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.client = arxiv.Client(page_size=100, delay_seconds=delay_s, num_retries=0)
        self.client.query_url_format = base_url.rstrip("?") + "?{}"
        self.client._session = _CheckedSession(timeout_s, retries, backoff_s)  # the client offers no other way in

    def _cache_file(self, query: str, max_results: int) -> Path | None:
        if not self.cache_dir:
            return None
        return self.cache_dir / f"{cache_key(query, max_results, self.base_url)}.json"

    def search(self, query: str, max_results: int) -> list[dict]:
        """Return up to `max_results` records for `query`; raise ArxivError when arXiv fails."""
        cached = self._cache_file(query, max_results)
        if cached and cached.exists():
            log.info("arXiv cache hit for %r (%s)", query, cached)
            return json.loads(cached.read_text(encoding="utf-8"))["records"]
        search = arxiv.Search(query=query, max_results=max_results, sort_by=arxiv.SortCriterion.Relevance)
        records = self._run(search, repr(query))
        if cached:
            write_json(cached, {"query": query, "max_results": max_results, "base_url": self.base_url,
                                "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                "records": records})
        return records

    def _run(self, search: arxiv.Search, what: str) -> list[dict]:
        """Run one arXiv search (the session retries); turn what is left of a failure into an ArxivError."""
        try:
            return [_record(r) for r in self.client.results(search)]
        except ArxivError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified below
            if not _retryable(exc):
                raise ArxivError(f"arXiv search for {what} failed: {exc}") from exc
            tries = attempts(self.client._session.policy)
            raise ArxivError(
                f"arXiv unreachable for {what} after {tries} tries ({type(exc).__name__}: {exc}); "
                "check the network or use literature.source: snapshot / auto"
            ) from exc

    def fetch_ids(self, ids: list[str], chunk: int = 100) -> list[dict]:
        """Fetch the records of the given arXiv ids (not cached), in chunks of `chunk` ids per request."""
        wanted = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
        out: list[dict] = []
        for start in range(0, len(wanted), chunk):
            part = wanted[start:start + chunk]
            label = "ids " + ", ".join(part[:3]) + (" ..." if len(part) > 3 else "")
            out += self._run(arxiv.Search(id_list=part, max_results=len(part)), label)
        return out
