"""Studies pinned to papers: `studies.<name>.papers` reads those papers' claims only (snapshot: from the corpus;
live: fetched by id), a question is optional, and an unknown id is an error naming it."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from sovereign.config import validate_config
from sovereign.errors import ArxivError, ConfigError, CorpusError
from sovereign.literature.queries import plan_queries
from sovereign.literature.search import run_search
from workflow import ROOT, snakemake

SNAPSHOT = str(ROOT / "resources" / "corpus" / "arxiv_snapshot.jsonl")


def _write(workdir, studies, **extra):
    cfg = {"studies": studies, "embeddings": {"backend": "none"}, **extra}
    (workdir / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")


def test_a_pinned_study_needs_no_question_and_plans_one_id_query(base_config):
    base_config["studies"] = {"mine": {"papers": ["2604.14552"]}}
    cfg = validate_config(base_config)
    assert cfg["studies"]["mine"]["papers"] == ["2604.14552"]
    [q] = plan_queries(None, [], 4, [], ["2604.14552"])
    assert q["ids"] == ["2604.14552"] and q["origin"] == "pinned"
    base_config["studies"] = {"mine": {"suites": ["cnn"]}}  # neither a question nor papers
    with pytest.raises(ConfigError, match="studies.mine.question' is required"):
        validate_config(base_config)
    base_config["studies"] = {"mine": {"papers": ["DEEP-GAP"]}}
    with pytest.raises(ConfigError, match="studies.mine.papers.0"):
        validate_config(base_config)


def test_snapshot_by_id_names_a_missing_paper():
    q = plan_queries(None, papers=["2604.14552", "2604.99999"])[0]
    with pytest.raises(CorpusError, match="pinned paper 2604.99999 not found in the offline corpus"):
        run_search(q, "snapshot", SNAPSHOT, 20, {})
    records, used, _ = run_search(plan_queries(None, papers=["2604.14552v1"])[0], "snapshot", SNAPSHOT, 20, {})
    assert [r["id"] for r in records] == ["2604.14552"] and used == "snapshot"


@pytest.mark.slow
def test_pinned_study_reads_claims_from_that_paper_only_offline(tmp_path):
    _write(tmp_path, {"deepgap": {"papers": ["2604.14552"], "suites": ["cnn"]}},
           literature={"source": "snapshot", "snapshot_path": SNAPSHOT})
    res = snakemake(tmp_path, "results/deepgap/frame.json", timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    papers = pd.read_parquet(tmp_path / "results/deepgap/papers.parquet")
    assert papers["paper_id"].tolist() == ["2604.14552"] and papers["kept"].all()
    claims = pd.read_parquet(tmp_path / "results/deepgap/claims.parquet")
    assert len(claims) > 0 and set(claims["paper_id"]) == {"2604.14552"}
    frame = json.loads((tmp_path / "results/deepgap/frame.json").read_text())
    # no question given: the frame comes from the paper's claims (DEEP-GAP compares L4 with T4)
    assert "2604.14552" in frame["question"]
    assert {"l4", "t4"} <= set(frame["subject"].get("device", []) + frame["baseline"].get("device", []))
    assert frame["on_frame"]


def test_missing_pinned_paper_fails_the_search_naming_it(tmp_path):
    _write(tmp_path, {"mine": {"papers": ["2604.99999"]}}, literature={"source": "snapshot", "snapshot_path": SNAPSHOT})
    res = snakemake(tmp_path, "results/mine/papers.parquet", timeout=300)
    assert res.returncode != 0
    log = "".join(p.read_text() for p in (tmp_path / "results/logs/search_arxiv/mine").glob("*.log"))
    assert "pinned paper 2604.99999 not found in the offline corpus" in log + res.stderr


def test_pinned_study_fetches_by_id_from_a_live_server(tmp_path, arxiv_server):
    from conftest import SAMPLE_RECORDS
    from test_literature import _pdf_with_text

    arxiv_server.records = {r["id"]: dict(r) for r in SAMPLE_RECORDS}
    arxiv_server.pdfs = {"2604.14552v1": _pdf_with_text("The L4 delivers 3.1x the throughput of the T4.")}
    arxiv = {"base_url": arxiv_server.url, "delay_s": 0, "retries": 0, "timeout_s": 5,
             "cache_dir": str(tmp_path / "cache")}
    _write(tmp_path, {"deepgap": {"papers": ["2604.14552"]}},
           literature={"source": "arxiv", "arxiv": arxiv, "fulltext": {"cache_dir": str(tmp_path / "ft")}},
           claims={"tables": False, "use_embeddings": False})
    res = snakemake(tmp_path, "results/deepgap/claims.parquet", timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert [r["id_list"] for r in arxiv_server.requests] == [["2604.14552"]]  # by id, no search query
    papers = pd.read_parquet(tmp_path / "results/deepgap/papers.parquet")
    assert papers["paper_id"].tolist() == ["2604.14552"] and papers["source"].tolist() == ["arxiv"]
    # then its PDF, as for any live paper: the claims include the PDF's sentence
    fulltext = pd.read_parquet(tmp_path / "results/deepgap/fulltext.parquet")
    assert fulltext[["status", "text_origin"]].values.tolist() == [["ok", "pdf"]]
    claims = pd.read_parquet(tmp_path / "results/deepgap/claims.parquet")
    assert ((claims["value"] == 3.1) & (claims["text_origin"] == "pdf")).any()
    # an id the server does not have is an error naming it
    q = plan_queries(None, papers=["2604.14552", "2501.00001"])[0]
    with pytest.raises(ArxivError, match="pinned paper 2501.00001 not found on arXiv"):
        run_search(q, "arxiv", SNAPSHOT, 20, arxiv)
