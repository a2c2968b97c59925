"""The DuckDB warehouse: contract tables, reloads that never duplicate, hostile text kept intact."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from sovereign.errors import WarehouseError
from sovereign.io import write_json
from sovereign.literature.screen import screen_papers
from sovereign.literature.search import search_arxiv
from sovereign.report.render_html import render_report
from sovereign.warehouse import CONTRACT, load_warehouse, query

HOSTILE = [
    {"id": "6666.00001", "title": '<script>alert("x")</script> L4 & T4 "inference" latency',
     "authors": ["O'Brien <b>bold</b>"], "published": "2024-01-01", "categories": ["cs.PF"],
     "abstract": "<img src=x onerror=alert(1)> GPU inference latency on L4 and T4 ' \" ; DROP TABLE papers; --"},
    {"id": "6666.00002", "title": "NVIDIA L4 推理延迟 与 T4 — латентность inference throughput",
     "authors": ["张伟", "Иван Петров"], "published": "2024-02-02", "categories": ["cs.DC"],
     "abstract": "L4 T4 inference throughput " + "very long abstract " * 5000},
    {"id": "6666.00003", "title": "L4 T4 batch sizes", "authors": [], "published": "", "categories": [],
     "abstract": ""},
]


def _build(tmp_path):
    corpus = tmp_path / "hostile.jsonl"
    import json
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in HOSTILE), encoding="utf-8")
    q = {"query_id": "qhostile001", "text": "L4 T4 inference latency throughput batch sizes"}
    search_arxiv("gpu", q, str(tmp_path / "s.jsonl"), "snapshot", str(corpus), 10, {})
    write_json(tmp_path / "queries.json", [{"study": "gpu", **q}])
    screen_papers("gpu", "How does inference latency of L4 compare with T4?", [str(tmp_path / "s.jsonl")],
                  str(tmp_path / "papers.parquet"), str(tmp_path / "screening.json"),
                  {"tfidf_threshold": 0.0, "embedding_threshold": 0.45, "drift_tfidf": 0.0, "drift_embedding": 0.3},
                  {"backend": "none"})
    inputs = {"queries": [str(tmp_path / "queries.json")], "papers": [str(tmp_path / "papers.parquet")]}
    return inputs


def test_contract_tables_exist_with_their_columns(tmp_path):
    db = tmp_path / "w.duckdb"
    counts = load_warehouse(str(db), _build(tmp_path), "abc")
    assert counts["papers"] == 3 and counts["queries"] == 1 and counts["runs"] == 1
    with duckdb.connect(str(db), read_only=True) as con:
        for table, cols in CONTRACT.items():
            have = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
            assert list(cols) == have[: len(cols)], table


def test_reload_never_duplicates_and_keeps_run_history(tmp_path):
    db = tmp_path / "w.duckdb"
    inputs = _build(tmp_path)
    load_warehouse(str(db), inputs, "abc")
    load_warehouse(str(db), inputs, "def")
    assert query(str(db), "SELECT count(*) AS n FROM papers").n[0] == 3
    runs = query(str(db), "SELECT config_hash FROM runs ORDER BY started_at")
    assert runs.config_hash.tolist() == ["abc", "def"]
    assert not list(tmp_path.glob(".w.duckdb*"))  # no temporary file left behind


def test_hostile_text_survives_intact_into_duckdb_and_is_escaped_in_html(tmp_path):
    db = tmp_path / "w.duckdb"
    load_warehouse(str(db), _build(tmp_path), "abc")
    got = query(str(db), "SELECT paper_id, title, abstract, authors FROM papers ORDER BY paper_id")
    by_id = got.set_index("paper_id")
    for rec in HOSTILE:
        assert by_id.loc[rec["id"], "title"] == rec["title"]
        assert by_id.loc[rec["id"], "abstract"] == rec["abstract"]
        assert list(by_id.loc[rec["id"], "authors"]) == rec["authors"]
    out = tmp_path / "r.html"
    render_report(str(db), "gpu", "<b>question</b>", str(tmp_path / "screening.json"), str(out))
    html = out.read_text(encoding="utf-8")
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; L4 &amp; T4" in html
    assert "NVIDIA L4 推理延迟 与 T4 — латентность" in html


def test_input_without_contract_columns_is_refused(tmp_path):
    bad = tmp_path / "bad.parquet"
    pd.DataFrame([{"study": "x", "paper_id": "1"}]).to_parquet(bad)
    with pytest.raises(WarehouseError, match=r"lack contract columns \['title'"):
        load_warehouse(str(tmp_path / "w.duckdb"), {"papers": [str(bad)]}, "abc")
    assert not (tmp_path / "w.duckdb").exists()


def test_two_inputs_disagreeing_about_one_row_are_refused_and_equal_rows_are_one(tmp_path):
    inputs = _build(tmp_path)
    papers = pd.read_parquet(inputs["papers"][0])
    same, other = tmp_path / "same.parquet", tmp_path / "other.parquet"
    papers.to_parquet(same)
    papers.assign(title=papers["title"] + " (revised)").to_parquet(other)
    db = tmp_path / "w.duckdb"
    assert load_warehouse(str(db), {**inputs, "papers": [inputs["papers"][0], str(same)]}, "abc")["papers"] == 3
    with pytest.raises(WarehouseError, match=r"table 'papers': 3 keys \(study, paper_id\) have differing rows"):
        load_warehouse(str(db), {**inputs, "papers": [inputs["papers"][0], str(other)]}, "def")
    assert query(str(db), "SELECT count(*) AS n FROM runs").n[0] == 1  # the good warehouse is kept as it was


def test_unknown_table_and_missing_db(tmp_path):
    with pytest.raises(WarehouseError, match="no warehouse table named"):
        load_warehouse(str(tmp_path / "w.duckdb"), {"paper": []}, "abc")
    with pytest.raises(WarehouseError, match="run the workflow first"):
        query(str(tmp_path / "missing.duckdb"), "SELECT 1")


def test_sql_cli_is_read_only(tmp_path, capsys):
    from sovereign.cli import main

    db = tmp_path / "w.duckdb"
    load_warehouse(str(db), _build(tmp_path), "abc")
    assert main(["sql", "--db", str(db), "SELECT count(*) AS n FROM papers", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", "3"]
    assert main(["sql", "--db", str(db), "DELETE FROM papers"]) == 1
    assert "read-only" in capsys.readouterr().err.lower()
    assert query(str(db), "SELECT count(*) AS n FROM papers").n[0] == 3


def test_outputs_get_the_usual_permissions(tmp_path):
    import os
    import stat

    from sovereign.io import write_json

    write_json(tmp_path / "x.json", {"a": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "x.json").stat().st_mode) == 0o666 & ~umask
