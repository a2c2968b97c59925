"""Where evidence text comes from (text_origin): live records get their PDF, never the corpus's paraphrase;
an `auto` search that fell back to the snapshot searches live again on the next run. Real Snakemake runs
against the loopback arXiv server (tests/arxiv_server.py)."""
from __future__ import annotations

import copy
import json
import re
import shutil
import socket

import pandas as pd
import pytest
import yaml
from arxiv_server import ArxivTestServer
from test_literature import _pdf_with_text
from workflow import ROOT, planned_jobs, snakemake, write_config

from sovereign.io import read_jsonl
from sovereign.literature.fulltext import fetch_fulltext
from sovereign.literature.snapshot import load_corpus

BUNDLED = ROOT / "resources" / "corpus" / "arxiv_snapshot.jsonl"
DEEP_GAP = "2604.14552"  # in the bundled corpus, whose paraphrase says "up to 4.4 times" / "4.4x"
# what the loopback server's PDF of DEEP-GAP says: a figure the corpus paraphrase does not hold
PDF_SENTENCE = "The L4 delivers up to 3.1x the throughput of the T4 at batch 16."
LIVE = [{"id": DEEP_GAP, "title": "DEEP-GAP: Deep-learning Evaluation of Execution Parallelism in GPU "
         "Architectural Performance", "authors": ["Kathiravan Palaniappan"], "published": "2026-04-16",
         "categories": ["cs.PF"], "abstract": "Compares NVIDIA T4 and L4 inference GPUs on ResNet models across "
         "precisions and batch sizes, measuring latency and throughput."}]
TARGET = "results/gpu/claims.parquet"
ORIGINS = {"pdf", "abstract", "snapshot"}


def test_a_live_record_in_the_snapshot_gets_its_pdf_never_the_corpus_text(tmp_path, arxiv_server):
    assert any(r["id"] == DEEP_GAP and "4.4x" in r.get("full_text", "") for r in load_corpus(str(BUNDLED)))
    arxiv_server.pdfs = {f"{DEEP_GAP}v1": _pdf_with_text(PDF_SENTENCE)}
    live = {"study": "s", "kept": True, "source": "arxiv", "text_origin": "abstract"}
    pd.DataFrame([{**live, "paper_id": DEEP_GAP, "pdf_url": f"{arxiv_server.base}/pdf/{DEEP_GAP}v1"},
                  # also in the corpus, and its PDF is missing: a failure, still no corpus text
                  {**live, "paper_id": "2602.16858", "pdf_url": f"{arxiv_server.base}/pdf/2602.16858v1"}]
                 ).to_parquet(tmp_path / "p.parquet")
    cfg = {"enabled": True, "max_pdf_mb": 1, "max_chars": 10000, "cache_dir": str(tmp_path / "c")}
    got = fetch_fulltext(str(tmp_path / "p.parquet"), str(tmp_path / "f.parquet"), str(BUNDLED), cfg).set_index("paper_id")
    assert got.loc[DEEP_GAP, ["status", "text_origin", "fetched"]].tolist() == ["ok", "pdf", "download"]
    assert "3.1x" in got.loc[DEEP_GAP, "text"] and "4.4x" not in got.loc[DEEP_GAP, "text"]
    failed = got.loc["2602.16858"]
    assert (failed["status"], failed["text_origin"], failed["text"]) == ("failed", "abstract", "")
    assert "404" in failed["reason"] and "abstract" in failed["reason"]


def _config(tmp_path, source: str, base_url: str, snapshot: str) -> dict:
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["studies"] = {"gpu": {**cfg["studies"]["gpu"], "queries": ["L4 T4 inference latency throughput"]}}
    cfg["embeddings"]["backend"] = "none"
    cfg["literature"].update(source=source, snapshot_path=snapshot)
    cfg["literature"]["arxiv"].update(base_url=base_url, timeout_s=2, retries=0, backoff_s=0.0, delay_s=0.0)
    write_config(tmp_path, copy.deepcopy(cfg))
    return cfg


def _outputs(workdir):
    d = workdir / "results" / "gpu"
    rows = [r for p in sorted((d / "search").glob("*.jsonl")) for r in read_jsonl(p)]
    markers = [json.loads(p.read_text()) for p in sorted((d / "search").glob("*.live_state.json"))]
    return (rows, markers, pd.read_parquet(d / "papers.parquet"), pd.read_parquet(d / "fulltext.parquet"),
            pd.read_parquet(d / "claims.parquet"))


@pytest.mark.slow
def test_arxiv_source_reads_the_pdf_and_never_the_snapshot_file(tmp_path):
    snapshot = tmp_path / "corpus.jsonl"
    shutil.copy(BUNDLED, snapshot)
    with ArxivTestServer([dict(r) for r in LIVE]) as srv:
        srv.pdfs = {f"{DEEP_GAP}v1": _pdf_with_text(PDF_SENTENCE)}
        _config(tmp_path, "arxiv", srv.url, str(snapshot))
        res = snakemake(tmp_path, TARGET)
        assert res.returncode == 0, res.stderr[-3000:]
        rows, markers, papers, fulltext, claims = _outputs(tmp_path)
        assert {r["text_origin"] for r in rows} == {"abstract"} and {r["source"] for r in rows} == {"arxiv"}
        assert markers and not any(m["fallback"] for m in markers)
        assert papers.set_index("paper_id").loc[DEEP_GAP, "text_origin"] == "abstract"
        ft = fulltext.set_index("paper_id").loc[DEEP_GAP]
        assert (ft["status"], ft["text_origin"]) == ("ok", "pdf") and "3.1x" in ft["text"]
        assert set(claims["text_origin"]) <= {"abstract", "pdf"}
        from_pdf = claims[claims["section"] == "full_text"]
        assert not from_pdf.empty and set(from_pdf["text_origin"]) == {"pdf"}
        assert from_pdf["sentence"].str.contains("3.1x").any()
        assert not claims["sentence"].str.contains("4.4", regex=False).any()  # the corpus paraphrase's figure
        # the corpus is no input of a live run: a broken corpus file changes nothing, even when
        # the full-text step is run again (it would fail if it still read the file)
        snapshot.write_text("{not json\n")
        assert planned_jobs(tmp_path, TARGET) == {}
        again = snakemake(tmp_path, TARGET, "--forcerun", "fetch_fulltext")
        assert again.returncode == 0, again.stderr[-3000:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_auto_fallback_is_searched_live_again_once_arxiv_answers(tmp_path):
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api/query"
    _config(tmp_path, "auto", url, str(BUNDLED))

    # run 1: nothing listens on the port, so the search falls back and says so
    res = snakemake(tmp_path, TARGET)
    assert res.returncode == 0, res.stderr[-3000:]
    rows, markers, papers, fulltext, claims = _outputs(tmp_path)
    assert rows and {r["source"] for r in rows} == {"snapshot"} and {r["text_origin"] for r in rows} == {"snapshot"}
    assert all("fell back to the offline snapshot" in r["source_note"] for r in rows)
    assert [m["fallback"] for m in markers] == [True]
    assert set(papers["text_origin"]) == {"snapshot"} and set(fulltext["text_origin"]) == {"snapshot"}
    assert not claims.empty and set(claims["text_origin"]) == {"snapshot"}
    assert claims["sentence"].str.contains("4.4", regex=False).any()  # the corpus's figure, from its paraphrase

    # the fallback is not a finished search: a dry run already plans it again
    assert planned_jobs(tmp_path, TARGET).get("search_arxiv") == 1

    # run 2: arXiv answers on the same port; the search runs live and replaces the fallback rows
    with ArxivTestServer([dict(r) for r in LIVE], port=port) as srv:
        srv.pdfs = {f"{DEEP_GAP}v1": _pdf_with_text(PDF_SENTENCE)}
        res = snakemake(tmp_path, TARGET)
        assert res.returncode == 0, res.stderr[-3000:]
        assert "fell back to the offline snapshot in an earlier run; it searches arXiv live again" in res.stderr
        assert any(r["query"] for r in srv.requests)
        rows, markers, papers, fulltext, claims = _outputs(tmp_path)
        assert {r["source"] for r in rows} == {"arxiv"} and {r["text_origin"] for r in rows} == {"abstract"}
        assert [(m["fallback"], m["live_attempt"], m["source_used"]) for m in markers] == [(False, 1, "arxiv")]
        assert list(papers["paper_id"]) == [DEEP_GAP] and set(papers["text_origin"]) == {"abstract"}
        assert fulltext.set_index("paper_id").loc[DEEP_GAP, "text_origin"] == "pdf"
        assert set(claims["text_origin"]) <= {"abstract", "pdf"} and (claims["text_origin"] == "pdf").any()
        assert not claims["sentence"].str.contains("4.4", regex=False).any()

        # run 3: a finished live search stays finished (no flip-flop of the retry param)
        assert planned_jobs(tmp_path, TARGET) == {}


@pytest.mark.parametrize("origins,expect,warn", [
    (["snapshot"] * 3, "All 3 claims come from offline corpus records (text origin: snapshot): the bundled corpus is "
     "the project's own paraphrase of the papers", True),
    (["pdf", "abstract", "pdf"], "Of the 3 claims, 2 from the arXiv PDFs; 1 from the arXiv abstracts.", False),
])
def test_report_says_where_every_claim_sentence_comes_from(tmp_path, origins, expect, warn):
    import duckdb
    from test_report import build_hostile_study

    from sovereign.report.render_html import render_report

    built = build_hostile_study(tmp_path)
    with duckdb.connect(str(built["db"])) as con:  # the claims' origins as the warehouse records them
        for cid, origin in zip(["c1", "c2", "c3"], origins):
            con.execute("UPDATE claims SET text_origin = ? WHERE claim_id = ?", [origin, cid])
    out = tmp_path / "report"
    render_report(str(built["db"]), "gpu", "How does L4 compare with T4?", built["screening"], str(out / "gpu.html"),
                  out_md=str(out / "gpu.md"), suites=["cnn"], images=False, cache_dir=str(tmp_path / "cache"))
    md = (out / "gpu.md").read_text(encoding="utf-8")
    assert expect in md and md.index(expect) < md.index("## Abstract")  # said plainly, near the top
    assert ("paraphrase" in md.split("## Abstract")[0]) is warn
    rows = [line for line in md.split("## Extracted Claims")[1].split("## References")[0].splitlines()
            if re.match(r"\| c\d", line)]
    labels = {"snapshot": "corpus paraphrase", "pdf": "arXiv PDF", "abstract": "arXiv abstract"}
    assert sorted(r.split(" | ")[3] for r in rows) == sorted(labels[o] for o in origins)
    page = (out / "gpu.html").read_text(encoding="utf-8")
    assert expect.replace("'", "&#x27;") in page
    # on the first screen the answer and the verdict come first, then where the claims' text comes from,
    # before any claim is shown
    assert page.index('id="verdict"') < page.index('id="provenance"') < page.index("Claims checked against")
    assert "<th>text origin</th><th>TF-IDF</th>" in page  # the papers table says it too
    cells = {label: page.count(f"<td>{label}</td>") for label in labels.values()}
    assert cells == {labels[o]: origins.count(o) for o in labels}


def test_warehouse_papers_say_pdf_only_where_the_pdf_was_read(tmp_path):
    from test_verdicts_data import GPU_PAPERS, paper_frame

    from sovereign.errors import WarehouseError
    from sovereign.warehouse import load_warehouse, query

    papers = paper_frame("gpu", GPU_PAPERS).assign(source="arxiv", text_origin="abstract")
    papers.to_parquet(tmp_path / "papers.parquet")
    ft = pd.DataFrame([{"study": "gpu", "paper_id": GPU_PAPERS[0]["paper_id"], "status": "ok", "text_origin": "pdf"},
                       {"study": "gpu", "paper_id": GPU_PAPERS[1]["paper_id"], "status": "failed",
                        "text_origin": "abstract"},
                       {"study": "other", "paper_id": GPU_PAPERS[2]["paper_id"], "status": "ok", "text_origin": "pdf"}])
    ft.to_parquet(tmp_path / "fulltext.parquet")
    db = str(tmp_path / "w.duckdb")
    load_warehouse(db, {"papers": [str(tmp_path / "papers.parquet")]}, "h", fulltext=[str(tmp_path / "fulltext.parquet")])
    got = dict(query(db, "SELECT paper_id, text_origin FROM papers").itertuples(index=False))
    assert got == {GPU_PAPERS[0]["paper_id"]: "pdf", GPU_PAPERS[1]["paper_id"]: "abstract",
                   GPU_PAPERS[2]["paper_id"]: "abstract"}  # another study's PDF is not this one's
    assert "text_origin" in set(query(db, "SELECT * FROM claims").columns)
    papers.drop(columns="text_origin").to_parquet(tmp_path / "old.parquet")
    with pytest.raises(WarehouseError, match=r"lack contract columns \['text_origin'\]"):
        load_warehouse(db, {"papers": [str(tmp_path / "old.parquet")]}, "h")


def test_a_paper_found_live_and_by_a_fallback_keeps_the_live_record(tmp_path):
    from sovereign.io import write_jsonl
    from sovereign.literature.screen import merge_results

    rec = {"id": DEEP_GAP, "title": "DEEP-GAP", "abstract": "text"}
    write_jsonl(tmp_path / "a.jsonl", [{**rec, "query_id": "qa", "rank": 1, "source": "snapshot",
                                        "text_origin": "snapshot", "abstract": "our paraphrase"}])
    write_jsonl(tmp_path / "b.jsonl", [{**rec, "query_id": "qb", "rank": 3, "source": "arxiv", "text_origin": "abstract",
                                        "abstract": "arXiv's abstract", "pdf_url": "http://127.0.0.1:1/pdf/x"}])
    for order in (["a", "b"], ["b", "a"]):
        row = merge_results("s", [str(tmp_path / f"{n}.jsonl") for n in order]).iloc[0]
        assert (row["source"], row["text_origin"], row["abstract"]) == ("arxiv", "abstract", "arXiv's abstract")
        assert list(row["query_ids"]) == ["qa", "qb"] and row["best_rank"] == 1
    only = merge_results("s", [str(tmp_path / "a.jsonl")]).iloc[0]
    assert (only["source"], only["text_origin"]) == ("snapshot", "snapshot")


def test_refined_searches_that_fell_back_are_marked_for_a_live_retry(tmp_path):
    from test_verdicts_data import GPU_PAPERS, claim, write_study

    from sovereign.literature.fallback import next_live_attempt
    from sovereign.verdicts.requery import requery_arxiv

    claims = [claim("r1", DEEP_GAP, "The L4 is 4 times the T4.", kind="ratio", metric="throughput", value=4.0,
                    unit="x", subject_device="l4", baseline_device="t4")]
    paths = write_study(tmp_path, "gpu", "How does the NVIDIA L4 compare with the T4 on ResNet-50?", GPU_PAPERS,
                        claims, {})
    out = tmp_path / "revision"
    down = dict(base_url=f"http://127.0.0.1:{_free_port()}/api/query", timeout_s=1, retries=0, backoff_s=0,
                delay_s=0, cache_dir=None)
    kw = dict(snapshot_path=str(BUNDLED), max_results=3, max_queries=2, fulltext_path=paths["fulltext"])
    args = ("gpu", "How does the NVIDIA L4 compare with the T4 on ResNet-50?", paths["queries"], paths["papers"],
            paths["claims"], str(out / "q.json"), str(out / "r.jsonl"))
    summary = requery_arxiv(*args, source="auto", arxiv_cfg=down, live_attempt=0, **kw)
    assert summary["queries"] and all(q["source"] == "snapshot" for q in summary["queries"])
    assert next_live_attempt(str(out / "r.jsonl")) == (1, True)
    with ArxivTestServer([dict(r) for r in LIVE]) as srv:
        requery_arxiv(*args, source="auto", arxiv_cfg={**down, "base_url": srv.url}, live_attempt=1, **kw)
    assert next_live_attempt(str(out / "r.jsonl")) == (1, False)  # finished: the same value, no rerun
    assert {r["text_origin"] for r in read_jsonl(out / "r.jsonl")} == {"abstract"}


def test_corpus_paraphrase_flag_is_checked_and_dropped_when_arxiv_text_replaces_ours(tmp_path):
    import importlib.util

    from sovereign.errors import CorpusError

    spec = importlib.util.spec_from_file_location("build_corpus", ROOT / "tools" / "build_corpus.py")
    bc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bc)
    ours = {"id": "2101.03961", "title": "Switch", "authors": ["W. Fedus"], "published": "2021-01",
            "categories": ["cs.LG"], "abstract": "Our summary.", "paraphrase": True}
    assert all(r.get("paraphrase") is True for r in load_corpus(str(BUNDLED)))  # every bundled record says so
    with pytest.raises(CorpusError, match="'paraphrase' must be true or false"):
        bc.validate_record({**ours, "paraphrase": "yes"})
    fetched = bc.from_arxiv({**ours, "abstract": "The authors' abstract."})
    merged, _ = bc.merge([ours], [fetched], replace_abstracts=True)
    assert merged[0]["abstract_source"] == "arxiv" and "paraphrase" not in merged[0]
    kept, _ = bc.merge([{**ours, "full_text": "Our body text."}], [fetched], replace_abstracts=True)
    assert kept[0]["paraphrase"] is True  # the full text is still ours
