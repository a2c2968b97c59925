"""The real `arxiv` client against a real HTTP server on 127.0.0.1."""
from __future__ import annotations

import time

import pytest

from sovereign.errors import ArxivError
from sovereign.literature.arxiv_source import ArxivSource
from sovereign.literature.search import run_search


def source(server, tmp_path, **kw):
    args = dict(base_url=server.url, timeout_s=2, retries=2, backoff_s=0.05, delay_s=0.0,
                cache_dir=str(tmp_path / "cache"))
    args.update(kw)
    return ArxivSource(**args)


def test_normal_page_returns_records_in_server_order(arxiv_server, tmp_path):
    recs = source(arxiv_server, tmp_path).search("gpu inference", max_results=10)
    assert [r["id"] for r in recs] == ["2604.14552", "2511.18314", "1412.6980"]
    assert recs[0] == {
        "id": "2604.14552", "version_id": "2604.14552v1",
        "title": "DEEP-GAP: Deep-learning Evaluation of Execution Parallelism in GPU Architectural Performance",
        "authors": ["Kathiravan Palaniappan"], "published": "2026-04-16", "categories": ["cs.PF", "cs.AR"],
        "abstract": "Compares NVIDIA T4 and L4 inference GPUs on ResNet models across precisions and batch sizes.",
        "pdf_url": f"{arxiv_server.base}/pdf/2604.14552v1",
    }
    sent = arxiv_server.requests[0]
    assert sent["query"] == "gpu inference"


def test_relevance_sort_and_max_results_are_sent(arxiv_server, tmp_path):
    source(arxiv_server, tmp_path).search("moe", max_results=2)
    assert len(arxiv_server.requests) == 1
    # the arxiv client asks for relevance order; our page holds at most max_results
    recs = source(arxiv_server, tmp_path / "b").search("moe", max_results=2)
    assert len(recs) == 2


def test_cache_means_a_rerun_never_refetches(arxiv_server, tmp_path):
    src = source(arxiv_server, tmp_path)
    first = src.search("routing", 10)
    again = source(arxiv_server, tmp_path).search("routing", 10)
    assert first == again
    assert len(arxiv_server.requests) == 1
    assert len(list((tmp_path / "cache").glob("*.json"))) == 1


def test_503_then_success_is_retried(arxiv_server, tmp_path):
    arxiv_server.behaviours = ["503", "ok"]
    recs = source(arxiv_server, tmp_path).search("retry me", 10)
    assert len(recs) == 3
    assert len(arxiv_server.requests) == 2


def test_retries_wait_with_backoff(arxiv_server, tmp_path):
    arxiv_server.behaviours = ["500", "502", "ok"]
    source(arxiv_server, tmp_path, backoff_s=0.2).search("slow", 10)
    t = [r["time"] for r in arxiv_server.requests]
    assert len(t) == 3
    assert t[1] - t[0] >= 0.2 and t[2] - t[1] >= 0.4  # doubled


def test_retry_after_of_a_503_is_honoured(arxiv_server, tmp_path):
    # arXiv sends Retry-After with its 503s; the backoff alone would retry after 0.05 s
    arxiv_server.behaviours = ["503@2", "ok"]
    recs = source(arxiv_server, tmp_path, backoff_s=0.05).search("busy", 10)
    t = [r["time"] for r in arxiv_server.requests]
    assert len(recs) == 3 and len(t) == 2
    assert t[1] - t[0] >= 2.0


def test_retry_after_is_capped_by_backoff_max(arxiv_server):
    # a server asking for an hour must not stall a job for an hour
    import requests

    from sovereign.retries import mount_retries, retry_policy

    arxiv_server.behaviours = ["503@3600", "ok"]
    t0 = time.monotonic()
    with mount_retries(requests.Session(), retry_policy(1, 0.05, backoff_max_s=0.5)) as session:
        resp = session.get(arxiv_server.url, params={"search_query": "capped"}, timeout=5)
    assert resp.status_code == 200
    assert 0.5 <= time.monotonic() - t0 < 5


def test_politeness_delay_between_requests(arxiv_server, tmp_path):
    src = source(arxiv_server, tmp_path, delay_s=0.5, cache_dir=None)
    src.search("a", 10)
    src.search("b", 10)
    t = [r["time"] for r in arxiv_server.requests]
    assert t[1] - t[0] >= 0.45


def test_4xx_is_not_retried(arxiv_server, tmp_path):
    arxiv_server.behaviours = ["400"]
    with pytest.raises(ArxivError, match="failed"):
        source(arxiv_server, tmp_path).search("bad", 10)
    assert len(arxiv_server.requests) == 1


def test_persistent_5xx_gives_up_with_clear_error(arxiv_server, tmp_path):
    arxiv_server.behaviours = ["503", "503", "503"]
    with pytest.raises(ArxivError, match=r"unreachable .* after 3 tries"):
        source(arxiv_server, tmp_path).search("down", 10)
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").glob("*.json"))


@pytest.mark.parametrize("behaviour", ["malformed", "html"])
def test_malformed_feed_is_a_clear_error_and_nothing_is_cached(arxiv_server, tmp_path, behaviour):
    arxiv_server.behaviours = [behaviour]
    with pytest.raises(ArxivError, match="malformed feed|not an Atom feed"):
        source(arxiv_server, tmp_path).search("broken", 10)
    assert not list((tmp_path / "cache").glob("*.json")) if (tmp_path / "cache").exists() else True
    # the next, healthy answer is fetched and cached normally
    assert len(source(arxiv_server, tmp_path).search("broken", 10)) == 3


def test_server_that_never_answers_times_out(arxiv_server, tmp_path):
    arxiv_server.behaviours = ["hang", "hang"]
    t0 = time.monotonic()
    with pytest.raises(ArxivError, match="unreachable"):
        source(arxiv_server, tmp_path, timeout_s=0.5, retries=1).search("silent", 10)
    assert time.monotonic() - t0 < 10


def test_empty_result_is_an_empty_list_and_is_cached(arxiv_server, tmp_path):
    arxiv_server.behaviours = ["empty"]
    assert source(arxiv_server, tmp_path).search("nothing matches", 10) == []
    assert source(arxiv_server, tmp_path).search("nothing matches", 10) == []
    assert len(arxiv_server.requests) == 1


def test_unreachable_host_fails_fast(tmp_path):
    src = ArxivSource(base_url="http://127.0.0.1:9/api/query", timeout_s=1, retries=1, backoff_s=0.01,
                      delay_s=0, cache_dir=None)
    with pytest.raises(ArxivError, match="unreachable"):
        src.search("x", 5)


def test_auto_falls_back_to_snapshot_with_a_warning(tmp_path, root, caplog):
    cfg = dict(base_url="http://127.0.0.1:9/api/query", timeout_s=1, retries=0, backoff_s=0, delay_s=0,
               cache_dir=str(tmp_path / "c"))
    snap = str(root / "resources" / "corpus" / "arxiv_snapshot.jsonl")
    with caplog.at_level("WARNING"):
        recs, used, note = run_search({"query_id": "q0", "text": "T4 L4 inference GPU"}, "auto", snap, 5, cfg)
    assert used == "snapshot" and recs
    assert "fell back to the offline snapshot" in note
    assert any("fell back" in r.getMessage() for r in caplog.records)


def test_arxiv_source_does_not_fall_back(tmp_path, root):
    cfg = dict(base_url="http://127.0.0.1:9/api/query", timeout_s=1, retries=0, backoff_s=0, delay_s=0, cache_dir=None)
    with pytest.raises(ArxivError):
        run_search({"query_id": "q0", "text": "x"}, "arxiv", str(root / "resources/corpus/arxiv_snapshot.jsonl"), 5, cfg)
