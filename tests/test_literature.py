"""Query planning, the snapshot source, screening and full text."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from sovereign.errors import CorpusError
from sovereign.io import write_jsonl
from sovereign.literature.fulltext import extract_pdf_text, fetch_fulltext
from sovereign.literature.queries import plan_queries, query_id
from sovereign.literature.screen import screen_papers
from sovereign.literature.search import search_arxiv
from sovereign.literature.snapshot import load_corpus, search_snapshot

GPU_Q = "How does inference latency and throughput of NVIDIA L4 compare with T4 across precisions and batch sizes?"
MOE_Q = ("How does the inference latency and throughput of AnyExperts' on-demand routing strategy compare to fixed "
         "routing baselines (e.g., top-k routing) across varying batch sizes on standard multimodal benchmarks like "
         "VQAv2 and Visual7W?")
NO_EMB = {"backend": "none"}
THRESH = {"tfidf_threshold": 0.15, "embedding_threshold": 0.45, "drift_tfidf": 0.08, "drift_embedding": 0.3}


@pytest.mark.parametrize("question", [GPU_Q, MOE_Q])
def test_plan_queries_derives_four_distinct_deterministic_queries(question):
    qs = plan_queries(question)
    texts = [q["text"].lower() for q in qs]
    assert len(qs) >= 4 and len(set(texts)) == len(texts)
    assert plan_queries(question) == qs
    assert all(q["query_id"] == query_id(q["text"]) for q in qs)
    assert {"key_phrases", "comparison"} <= {q["origin"] for q in qs}


def test_plan_queries_names_compared_things_and_datasets():
    gpu = " | ".join(q["text"] for q in plan_queries(GPU_Q))
    assert "L4 versus T4" in gpu
    moe = [q["text"] for q in plan_queries(MOE_Q)]
    assert any("AnyExperts" in t and "versus" in t and "fixed routing" in t for t in moe)
    assert any("VQAv2" in t for t in moe) and any("Visual7W" in t for t in moe)


def test_explicit_queries_win_and_are_deduplicated():
    qs = plan_queries(GPU_Q, ["L4 T4 benchmark", "  L4   T4 benchmark "])
    assert [(q["text"], q["origin"]) for q in qs] == [("L4 T4 benchmark", "config")]


def test_query_ids_depend_only_on_text():
    assert query_id("L4 T4") == query_id("  l4 t4 ")
    assert query_id("L4 T4") != query_id("L4 T4 INT8")


def _corpus(tmp_path, records):
    path = tmp_path / "corpus.jsonl"
    write_jsonl(path, records)
    return str(path)


RECORDS = [
    {"id": "1", "title": "L4 and T4 inference latency", "abstract": "GPU inference throughput on L4 and T4.", "authors": ["A"]},
    {"id": "2", "title": "Mixture of experts routing", "abstract": "Top-k routing of tokens to experts.", "authors": ["B"]},
    {"id": "3", "title": "Protein folding", "abstract": "Biology with no GPUs in the abstract.", "authors": ["C"]},
    {"id": "4", "title": "T4 microbenchmarks", "abstract": "Turing T4 tensor cores measured.", "authors": ["D"]},
]


def test_snapshot_ranks_with_bm25_and_drops_non_matches(tmp_path):
    path = _corpus(tmp_path, RECORDS)
    hits = search_snapshot(path, "L4 T4 inference latency", 10)
    assert [h["id"] for h in hits] == ["1", "4"]
    assert hits[0]["score"] > hits[1]["score"] > 0
    assert search_snapshot(path, "L4 T4 inference latency", 1)[0]["id"] == "1"
    assert search_snapshot(path, "quantum chromodynamics", 10) == []


@pytest.mark.parametrize("line,message", [
    ('{"id": "1", "title": "ok"}\n{not json}\n', r"corpus\.jsonl:2: not valid JSON"),
    ('{"title": "no id"}\n', r"corpus\.jsonl:1: record lacks a non-empty string 'id'"),
    ('{"id": "1", "title": ""}\n', r"record lacks a non-empty string 'title'"),
    ('{"id": "1", "title": "t", "authors": [1, 2]}\n', r"'authors' must be a list of strings"),
    ('{"id": "1", "title": "t"}\n{"id": "1", "title": "u"}\n', r"duplicate record id '1'"),
    ('[1, 2]\n', r"a record must be a JSON object"),
    ('\n\n', r"holds no records"),
])
def test_malformed_corpus_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "corpus.jsonl"
    path.write_text(line)
    with pytest.raises(CorpusError, match=message):
        load_corpus(str(path))


def test_missing_corpus_says_which_key(tmp_path):
    with pytest.raises(CorpusError, match="literature.snapshot_path"):
        load_corpus(str(tmp_path / "nope.jsonl"))


def test_bundled_corpus_loads(root):
    recs = load_corpus(str(root / "resources" / "corpus" / "arxiv_snapshot.jsonl"))
    assert len(recs) >= 29 and len({r["id"] for r in recs}) == len(recs)


def _search_files(tmp_path, corpus, study, question):
    paths = []
    for q in plan_queries(question):
        out = tmp_path / study / f"{q['query_id']}.jsonl"
        search_arxiv(study, q, str(out), "snapshot", corpus, 10, {})
        paths.append(str(out))
    return paths


def test_screening_keeps_on_topic_and_marks_drift(tmp_path):
    extra = RECORDS + [{"id": "5", "title": "Inference latency of cooking recipes", "abstract": "Batch sizes of dough.",
                        "authors": ["E"]}]
    corpus = _corpus(tmp_path, extra)
    paths = _search_files(tmp_path, corpus, "gpu", GPU_Q)
    summary = screen_papers("gpu", GPU_Q, paths, str(tmp_path / "p.parquet"), str(tmp_path / "s.json"), THRESH, NO_EMB)
    df = pd.read_parquet(tmp_path / "p.parquet").set_index("paper_id")
    assert bool(df.loc["1", "kept"]) and not bool(df.loc["1", "drift"])
    assert df["relevance_tfidf"].idxmax() == "1"
    assert df["relevance_embedding"].isna().all()  # embeddings off: TF-IDF alone decides
    assert summary["kept"] == int(df["kept"].sum()) and summary["retrieved"] == len(df)
    assert len(df) == len(set(df.index))  # merged and de-duplicated across queries
    assert all(len(q) >= 1 for q in df["query_ids"])
    assert json.loads((tmp_path / "s.json").read_text())["study"] == "gpu"


def test_study_drift_when_evidence_is_off_topic(tmp_path):
    corpus = _corpus(tmp_path, [r for r in RECORDS if r["id"] in ("1", "4")])
    paths = _search_files(tmp_path, corpus, "routing", MOE_Q)
    summary = screen_papers("routing", MOE_Q, paths, str(tmp_path / "p.parquet"), str(tmp_path / "s.json"), THRESH, NO_EMB)
    assert summary["study_drift"] is True
    assert summary["drift_reason"]


def test_screening_with_minilm_embeddings(tmp_path):
    corpus = _corpus(tmp_path, RECORDS)
    paths = _search_files(tmp_path, corpus, "gpu", GPU_Q)
    screen_papers("gpu", GPU_Q, paths, str(tmp_path / "p.parquet"), str(tmp_path / "s.json"), THRESH,
                  {"backend": "minilm", "batch_size": 16})
    df = pd.read_parquet(tmp_path / "p.parquet").set_index("paper_id")
    assert df["relevance_embedding"].notna().all()
    assert df.loc["1", "relevance_embedding"] > df.loc["4", "relevance_embedding"] - 0.5
    assert df["relevance_embedding"].idxmax() in ("1", "4")


def _pdf_with_text(text: str) -> bytes:
    """A minimal one-page PDF whose content stream shows `text`."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def test_extract_pdf_text_and_broken_pdf():
    assert "38932 images per second" in extract_pdf_text(_pdf_with_text("L4 reaches 38932 images per second"), 1000)
    with pytest.raises(ValueError, match="unreadable PDF|no extractable text"):
        extract_pdf_text(b"%PDF-1.4 garbage", 1000)


def test_fetch_fulltext_downloads_caches_and_records_failures(tmp_path, arxiv_server):
    arxiv_server.pdfs = {"2604.14552v1": _pdf_with_text("INT8 throughput is 58x the CPU baseline"),
                         "2511.18314v1": b"%PDF-1.4 this is not a real pdf"}
    papers = pd.DataFrame([
        {"study": "s", "paper_id": "2604.14552", "kept": True, "pdf_url": f"{arxiv_server.base}/pdf/2604.14552v1"},
        {"study": "s", "paper_id": "2511.18314", "kept": True, "pdf_url": f"{arxiv_server.base}/pdf/2511.18314v1"},
        {"study": "s", "paper_id": "1412.6980", "kept": True, "pdf_url": f"{arxiv_server.base}/pdf/missing"},
        {"study": "s", "paper_id": "0000.0000", "kept": False, "pdf_url": ""},
    ])
    papers.to_parquet(tmp_path / "papers.parquet")
    cfg = {"enabled": True, "max_pdf_mb": 1, "max_chars": 10000, "cache_dir": str(tmp_path / "cache")}
    df = fetch_fulltext(str(tmp_path / "papers.parquet"), str(tmp_path / "ft.parquet"), str(tmp_path / "none.jsonl"), cfg)
    got = df.set_index("paper_id")
    assert got.loc["2604.14552", "status"] == "ok" and "58x" in got.loc["2604.14552", "text"]
    assert got.loc["2604.14552", "text_origin"] == "pdf"
    assert (got.loc["2511.18314", "text_origin"], got.loc["1412.6980", "text_origin"]) == ("abstract", "abstract")
    assert got.loc["2511.18314", "status"] == "failed" and "PDF" in got.loc["2511.18314", "reason"]
    assert got.loc["1412.6980", "status"] == "failed" and "404" in got.loc["1412.6980", "reason"]
    assert "0000.0000" not in got.index
    # the second run reads the cached text and makes no download
    arxiv_server.pdfs = {}
    again = fetch_fulltext(str(tmp_path / "papers.parquet"), str(tmp_path / "ft2.parquet"), str(tmp_path / "none.jsonl"), cfg)
    cached = again.set_index("paper_id").loc["2604.14552"]
    assert (cached["fetched"], cached["text_origin"]) == ("cache", "pdf")


def test_fetch_fulltext_refuses_oversized_pdf(tmp_path, arxiv_server):
    arxiv_server.pdfs = {"big": _pdf_with_text("x" * 100) + b"%" + b"0" * 2_000_000}
    pd.DataFrame([{"study": "s", "paper_id": "big", "kept": True, "pdf_url": f"{arxiv_server.base}/pdf/big"}]).to_parquet(
        tmp_path / "papers.parquet")
    cfg = {"enabled": True, "max_pdf_mb": 1, "max_chars": 10000, "cache_dir": str(tmp_path / "cache")}
    df = fetch_fulltext(str(tmp_path / "papers.parquet"), str(tmp_path / "ft.parquet"), "", cfg)
    assert df.iloc[0]["status"] == "failed" and "limit" in df.iloc[0]["reason"]


def test_snapshot_full_text_field_is_used(tmp_path):
    corpus = _corpus(tmp_path, [{"id": "9", "title": "T", "abstract": "a", "full_text": "Body says 4.4x."}])
    pd.DataFrame([{"study": "s", "paper_id": "9", "kept": True, "pdf_url": "", "source": "snapshot"}]).to_parquet(
        tmp_path / "p.parquet")
    cfg = {"enabled": True, "max_pdf_mb": 1, "max_chars": 10000, "cache_dir": str(tmp_path / "c")}
    df = fetch_fulltext(str(tmp_path / "p.parquet"), str(tmp_path / "f.parquet"), corpus, cfg)
    assert df.iloc[0][["status", "text_origin", "fetched", "text"]].tolist() == ["ok", "snapshot", "corpus",
                                                                                 "Body says 4.4x."]


def test_study_drift_names_what_the_evidence_lacks(tmp_path):
    corpus = _corpus(tmp_path, [r for r in RECORDS if r["id"] in ("1", "4")])
    paths = _search_files(tmp_path, corpus, "routing", MOE_Q)
    summary = screen_papers("routing", MOE_Q, paths, str(tmp_path / "p.parquet"), str(tmp_path / "s.json"),
                            {**THRESH, "tfidf_threshold": 0.0}, NO_EMB)
    assert summary["kept"] > 0  # papers were kept, yet none is about routing
    assert summary["study_drift"] is True and summary["drift_reason"].startswith("topic drift")
    assert {"AnyExperts", "VQAv2", "Visual7W"} <= set(summary["entities_missing"])
    assert summary["entity_coverage"] == 0.0


def test_paper_naming_what_the_question_names_is_not_drift(tmp_path):
    records = RECORDS + [{"id": "7", "title": "Visual7W: grounded question answering", "abstract": "A dataset.",
                          "authors": ["Z"]}]
    corpus = _corpus(tmp_path, records)
    q = {"query_id": "q0000000001", "text": "Visual7W dataset"}
    search_arxiv("routing", q, str(tmp_path / "s.jsonl"), "snapshot", corpus, 10, {})
    screen_papers("routing", MOE_Q, [str(tmp_path / "s.jsonl")], str(tmp_path / "p.parquet"), str(tmp_path / "s.json"),
                  {**THRESH, "tfidf_threshold": 0.9, "drift_tfidf": 0.9}, NO_EMB)
    row = pd.read_parquet(tmp_path / "p.parquet").set_index("paper_id").loc["7"]
    assert not row["kept"] and not row["drift"]


def test_expansions_add_queries_in_the_fields_words(root, tmp_path):
    from sovereign.errors import ConfigError
    from sovereign.literature.queries import load_expansions

    exp = load_expansions(root / "resources" / "query_expansions.yaml")
    moe = [q for q in plan_queries(MOE_Q, expansions=exp) if q["origin"] == "expansion"]
    assert "mixture of experts routing" in [q["text"] for q in moe]
    assert all(q["origin"] != "expansion" or "mixture" not in q["text"] for q in plan_queries(GPU_Q, expansions=exp))
    bad = tmp_path / "bad.yaml"
    bad.write_text("expansions:\n  - when: routing\n    add: x\n")
    with pytest.raises(ConfigError, match=r"expansions\[0\] needs `when`"):
        load_expansions(bad)
