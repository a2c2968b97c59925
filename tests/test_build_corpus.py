"""tools/build_corpus.py against a real arXiv-format Atom server on 127.0.0.1."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from arxiv_server import ArxivTestServer
from sovereign.errors import CorpusError
from sovereign.literature.snapshot import load_corpus

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("build_corpus", ROOT / "tools" / "build_corpus.py")
bc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bc)

LIVE = {
    "2205.14135": {"id": "2205.14135", "title": "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness",
                   "authors": ["Tri Dao", "Daniel Y. Fu", "Stefano Ermon", "Atri Rudra", "Christopher Ré"],
                   "published": "2022-05-27", "categories": ["cs.LG"], "abstract": "Live abstract text of the paper."},
    "1911.02549": {"id": "1911.02549", "title": "MLPerf Inference Benchmark",
                   "authors": ["Vijay Janapa Reddi", "Christine Cheng", "David Kanter", "Peter Mattson"],
                   "published": "2019-11-06", "categories": ["cs.LG", "cs.PF"], "abstract": "Live MLPerf abstract."},
    "2309.06180": {"id": "2309.06180", "title": "Efficient Memory Management for Large Language Model Serving with PagedAttention",
                   "authors": ["Woosuk Kwon", "Zhuohan Li"], "published": "2023-09-12", "categories": ["cs.LG", "cs.DC"],
                   "abstract": "Live vLLM abstract."},
}

HAND = {"id": "1911.02549", "title": "MLPerf Inference Benchmark", "authors": ["Vijay Janapa Reddi"],
        "published": "2019-11", "categories": ["cs.LG"], "abstract": "Our own summary of the MLPerf paper.",
        "full_text": "Four scenarios: single-stream, multi-stream, server, offline."}


@pytest.fixture()
def server():
    with ArxivTestServer({k: dict(v) for k, v in LIVE.items()}) as srv:
        yield srv


def run(server, out, *extra):
    return bc.main(["--base-url", server.url, "--delay-s", "0", "--backoff-s", "0.01", "--timeout-s", "5",
                    "--out", str(out), *extra])


def lines(path):
    return [json.loads(x) for x in Path(path).read_text(encoding="utf-8").splitlines() if x.strip()]


def test_ids_are_fetched_and_appended_as_valid_corpus_records(server, tmp_path):
    out = tmp_path / "c.jsonl"
    out.write_text(json.dumps(HAND) + "\n", encoding="utf-8")
    assert run(server, out, "--ids", "2205.14135v2", "https://arxiv.org/abs/2309.06180") == 0
    assert server.requests[0]["id_list"] == ["2205.14135", "2309.06180"]
    recs = lines(out)
    assert [r["id"] for r in recs] == ["1911.02549", "2205.14135", "2309.06180"]
    fa = recs[1]
    assert fa["authors"][0] == "Tri Dao" and fa["published"] == "2022-05-27"
    assert fa["abstract_source"] == "arxiv" and fa["abstract"] == "Live abstract text of the paper."
    assert len(load_corpus(str(out))) == 3  # the pipeline's own reader accepts the result


def test_existing_record_keeps_its_abstract_and_full_text_but_gets_live_bibliography(server, tmp_path):
    out = tmp_path / "c.jsonl"
    out.write_text(json.dumps(HAND) + "\n", encoding="utf-8")
    assert run(server, out, "--ids", "1911.02549") == 0
    (rec,) = lines(out)
    assert rec["abstract"] == HAND["abstract"] and rec["full_text"] == HAND["full_text"]
    assert "abstract_source" not in rec
    assert rec["authors"] == LIVE["1911.02549"]["authors"] and rec["published"] == "2019-11-06"


def test_replace_abstracts_takes_arxivs_text(server, tmp_path):
    out = tmp_path / "c.jsonl"
    out.write_text(json.dumps(HAND) + "\n", encoding="utf-8")
    assert run(server, out, "--ids", "1911.02549", "--replace-abstracts") == 0
    (rec,) = lines(out)
    assert rec["abstract"] == "Live MLPerf abstract." and rec["abstract_source"] == "arxiv"
    assert rec["full_text"] == HAND["full_text"]


def test_refresh_keeps_the_paraphrase_mark_and_figure_locations(server, tmp_path):
    out = tmp_path / "c.jsonl"
    marked = {**HAND, "paraphrase": True, "figure_location": {"a figure": "Table 2"}}
    out.write_text(json.dumps(marked) + "\n", encoding="utf-8")
    assert run(server, out, "--ids", "1911.02549") == 0
    (rec,) = lines(out)
    assert rec["paraphrase"] is True and rec["figure_location"] == {"a figure": "Table 2"}
    assert list(rec).index("figure_location") < list(rec).index("full_text") < list(rec).index("paraphrase")  # canonical field order


def test_only_new_leaves_existing_records_untouched(server, tmp_path):
    out = tmp_path / "c.jsonl"
    out.write_text(json.dumps(HAND) + "\n", encoding="utf-8")
    assert run(server, out, "--ids", "1911.02549", "2205.14135", "--only-new") == 0
    recs = lines(out)
    assert recs[0] == HAND and [r["id"] for r in recs] == ["1911.02549", "2205.14135"]


def test_query_results_are_merged_without_duplicates(server, tmp_path):
    out = tmp_path / "c.jsonl"
    assert run(server, out, "--ids", "2205.14135", "--query", "attention memory", "--max-results", "5") == 0
    assert server.requests[1]["query"] == "attention memory"
    ids = [r["id"] for r in lines(out)]
    assert sorted(ids) == sorted(LIVE) and len(ids) == len(set(ids))


def test_malformed_live_record_is_refused_and_the_corpus_is_untouched(server, tmp_path):
    server.records["2205.14135"]["authors"] = []
    out = tmp_path / "c.jsonl"
    out.write_text(json.dumps(HAND) + "\n", encoding="utf-8")
    before = out.read_bytes()
    assert run(server, out, "--ids", "2205.14135", "2309.06180") == 2
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.jsonl"]  # no temporary file left behind


def test_empty_abstract_is_refused(server, tmp_path):
    server.records["2309.06180"]["abstract"] = ""
    out = tmp_path / "c.jsonl"
    assert run(server, out, "--ids", "2309.06180") == 2
    assert not out.exists()


def test_503_then_success_is_retried(server, tmp_path):
    server.behaviours = ["503", "ok"]
    out = tmp_path / "c.jsonl"
    assert run(server, out, "--ids", "2205.14135") == 0
    assert len(server.requests) == 2 and [r["id"] for r in lines(out)] == ["2205.14135"]


def test_persistent_5xx_fails_without_writing(server, tmp_path, capsys):
    server.behaviours = ["503"] * 10
    out = tmp_path / "c.jsonl"
    assert run(server, out, "--ids", "2205.14135", "--retries", "1") == 2
    assert not out.exists() and "unreachable" in capsys.readouterr().err


def test_unknown_id_is_reported_and_the_rest_written(server, tmp_path, capsys):
    out = tmp_path / "c.jsonl"
    assert run(server, out, "--ids", "2205.14135", "2101.99999") == 1
    assert [r["id"] for r in lines(out)] == ["2205.14135"]
    assert "2101.99999" in capsys.readouterr().err


def test_bad_id_argument_fails_before_any_request(server, tmp_path, capsys):
    assert run(server, tmp_path / "c.jsonl", "--ids", "not-an-id") == 2
    assert server.requests == [] and "not-an-id" in capsys.readouterr().err


def test_malformed_existing_corpus_names_the_line(server, tmp_path, capsys):
    out = tmp_path / "c.jsonl"
    out.write_text(json.dumps(HAND) + "\n{broken\n", encoding="utf-8")
    assert run(server, out, "--ids", "2205.14135") == 2
    assert "c.jsonl:2" in capsys.readouterr().err


def test_dry_run_writes_nothing(server, tmp_path):
    out = tmp_path / "c.jsonl"
    assert run(server, out, "--ids", "2205.14135", "--dry-run") == 0
    assert not out.exists()


@pytest.mark.parametrize("change, field", [
    ({"id": "2205.14135v1"}, "'id'"), ({"id": "14135"}, "'id'"), ({"published": "27/05/2022"}, "'published'"),
    ({"published": "2022-13"}, "'published'"), ({"title": "  "}, "'title'"), ({"categories": "cs.LG"}, "'categories'"),
    ({"authors": ["Tri Dao", ""]}, "'authors'"), ({"full_text": 3}, "'full_text'"), ({"pdf": "x"}, "unknown field"),
    ({"paraphrase": "yes"}, "'paraphrase'"), ({"figure_location": "abstract"}, "'figure_location'"),
    ({"figure_location": {}}, "'figure_location'"), ({"figure_location": {"2.9x": " "}}, "'figure_location'"),
])
def test_validate_record_names_the_bad_field(change, field):
    rec = {k: v for k, v in LIVE["2205.14135"].items()}
    rec.update(change)
    with pytest.raises(CorpusError, match=field):
        bc.validate_record(rec)


def test_write_corpus_refuses_duplicates(tmp_path):
    rec = dict(LIVE["2205.14135"])
    with pytest.raises(CorpusError, match="duplicate"):
        bc.write_corpus(tmp_path / "c.jsonl", [rec, dict(rec)])
    assert not (tmp_path / "c.jsonl").exists()


def test_old_style_ids_are_accepted():
    assert bc.normalize_id("arXiv:hep-th/9711200v3") == "hep-th/9711200"
    assert bc.validate_record({**LIVE["2205.14135"], "id": "hep-th/9711200"})["id"] == "hep-th/9711200"


def test_command_line_entry_point(server, tmp_path):
    out = tmp_path / "c.jsonl"
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_corpus.py"), "--base-url", server.url,
                           "--delay-s", "0", "--out", str(out), "--ids", "2309.06180"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "added 1" in proc.stdout and [r["id"] for r in lines(out)] == ["2309.06180"]
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_corpus.py"), "--out", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--ids" in proc.stderr
