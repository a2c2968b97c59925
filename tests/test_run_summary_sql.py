"""Small items: `sovereign sql --format markdown` keeps text as text; the run's closing summary per study."""
from __future__ import annotations

import json

import duckdb

from sovereign.cli import main
from sovereign.run_summary import run_summary


def test_markdown_never_reparses_text_columns(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE papers (paper_id VARCHAR, title VARCHAR, score DOUBLE, n BIGINT)")
        con.execute("INSERT INTO papers VALUES ('2604.14552', '1e5 images', 0.5, 3), ('1412.6980', 'Adam', NULL, 4)")
    assert main(["sql", "--db", str(db), "SELECT * FROM papers ORDER BY n", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    lines = [[c.strip() for c in line.strip("|").split("|")] for line in out.splitlines()]
    assert lines[0] == ["paper_id", "title", "score", "n"]
    assert lines[2] == ["2604.14552", "1e5 images", "0.5", "3"]  # not 2604.15, not 100000
    assert lines[3] == ["1412.6980", "Adam", "", "4"]


def test_run_summary_names_decision_score_answer_and_report(tmp_path):
    results = tmp_path / "results"
    (results / "cpu").mkdir(parents=True)
    (results / "report").mkdir()
    (results / "report" / "cpu.html").write_text("<html></html>")
    (results / "cpu" / "verdict.json").write_text(json.dumps({
        "decision": "ACCEPT", "score": 7.25, "verified_claims": 6,
        "answer": ["INT8 is 2.1x faster than FP32 with ONNX Runtime here.", "second line"]}))
    text = run_summary(["cpu", "gpu"], str(results))
    assert "cpu: ACCEPT (score 7.25, 6 claims verified by measurement)" in text
    assert "answer: INT8 is 2.1x faster than FP32 with ONNX Runtime here." in text and "second line" not in text
    assert f"report: {results / 'report' / 'cpu.html'}" in text
    assert "gpu: no verdict yet" in text  # a study whose tribunal did not run says so
