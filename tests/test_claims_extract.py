"""Claim extraction: fixture sentences read as a careful reader would, normalisation, tables, CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sovereign.claims.accuracy import FIELDS, compare, load_cases, score
from sovereign.claims.errors import VocabError
from sovereign.claims.extract import CLAIM_COLUMNS, ClaimsConfig, claims_frame, extract_claims
from sovereign.claims.parse import SentenceParser
from sovereign.claims.vocab import load_vocab, parse_vocab
from sovereign.warehouse import CONTRACT, load_warehouse

FIXTURES = Path(__file__).parent / "fixtures"
CASES = load_cases(FIXTURES / "claims.yaml") + load_cases(FIXTURES / "claims_hard.yaml")


@pytest.fixture(scope="module")
def parser():
    return SentenceParser(load_vocab())


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:60] for c in CASES])
def test_fixture_sentence(parser, case):
    got = parser.parse(case["text"])
    assert len(got) == len(case["expect"]), got
    for exp, row in zip(case["expect"], got):
        wrong = {f: row.get(f) for f, ok in compare(exp, row).items() if not ok}
        assert not wrong, f"expected {exp}, got wrong fields {wrong}"


def test_field_accuracy_at_least_95_percent(parser):
    res = score(CASES + load_cases(FIXTURES / "claims_heldout.yaml"), parser)
    for field, (right, total) in res["per_field"].items():
        assert field in FIELDS
        assert right / total >= 0.95, (field, right, total, res["failures"])
    assert res["overall"] >= 0.95


def test_shared_fixture_copy_is_current():
    shared = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "claims.yaml"
    if not shared.is_file():
        pytest.skip("no ../shared checkout beside this one")
    assert load_cases(shared) == load_cases(FIXTURES / "claims.yaml")


@pytest.mark.parametrize("sentence,value,unit", [
    ("The T4 reaches 38,932 images/s on ResNet-18.", 38932, "images/s"),
    ("The L4 reaches 3.83× the T4's throughput.", 3.83, "x"),
    ("The L4 reaches 4.4x the T4's throughput.", 4.4, "x"),
    ("The L4 reaches 4.4 times the T4's throughput.", 4.4, "x"),
    ("INT8 throughput is 58x the CPU baseline.", 58, "x"),
    ("INT8 throughput is twice the FP16 throughput.", 2, "x"),
    ("ResNet-50 runs at 1,024 FPS on a T4.", 1024, "images/s"),
    ("ResNet-50 runs at 1,024 samples/s on a T4.", 1024, "images/s"),
    ("ResNet-50 runs at 1024 images per second on a T4.", 1024, "images/s"),
    ("ResNet-50 runs at 3.2k images/s on a T4.", 3200, "images/s"),
    ("The p99 latency is 12 ms on a T4.", 12, "ms"),
    ("The latency is 850 µs on a T4.", 850, "µs"),
    ("The latency is 850 us on a T4.", 850, "µs"),
    ("The latency is 1.5 s on a CPU.", 1.5, "s"),
    ("Accuracy on ImageNet is 76.1% with ResNet-50.", 76.1, "%"),
])
def test_units_and_numbers_normalised(parser, sentence, value, unit):
    (row,) = parser.parse(sentence)
    assert (row["value"], row["unit"]) == (value, unit)


@pytest.mark.parametrize("sentence,low,high", [
    ("The L4 is most efficient at batch sizes 16–32.", 16, 32),
    ("The L4 is most efficient at batch sizes 16—32.", 16, 32),
    ("The L4 is most efficient at B=16–32.", 16, 32),
    ("The L4 is most efficient between batch sizes 16 and 32.", 16, 32),
])
def test_dash_ranges(parser, sentence, low, high):
    (row,) = parser.parse(sentence)
    assert (row["kind"], row["low"], row["high"], row["subject_device"]) == ("batch_range", low, high, "l4")


@pytest.mark.parametrize("alias", ["ResNet18", "ResNet-18", "resnet-18", "resnet 18"])
def test_model_aliases(parser, alias):
    (row,) = parser.parse(f"{alias} reaches 500 images/s on a T4.")
    assert row["subject_model"] == "resnet18"


@pytest.mark.parametrize("alias,canonical", [("TRT", "tensorrt"), ("TensorRT", "tensorrt"),
                                             ("ONNX Runtime", "onnxruntime"), ("PyTorch", "pytorch")])
def test_backend_aliases(parser, alias, canonical):
    (row,) = parser.parse(f"ResNet-50 reaches 500 images/s on a T4 with {alias}.")
    assert row["subject_backend"] == canonical


def test_user_vocabulary_extends_without_code(tmp_path):
    raw = {"devices": {"mi300x": ["mi300x", "instinct mi300x"]}, "metrics": {"throughput": ["throughput"]}}
    vocab = parse_vocab(raw, "user.yaml")
    (row,) = SentenceParser(vocab).parse("The Instinct MI300X reaches 9,000 images/s.")
    assert row["subject_device"] == "mi300x"
    path = tmp_path / "vocab.yaml"
    path.write_text("devices:\n  mi300x: [instinct mi300x]\n", encoding="utf-8")
    assert load_vocab(str(path)).mentions("an Instinct MI300X")[0].name == "mi300x"


@pytest.mark.parametrize("raw,match", [
    ({"gadgets": {}}, "unknown section"),
    ({"devices": {"t4": "t4"}}, "devices.t4 must be a list"),
    ({"devices": {"t4": [["nested"]]}}, "not strings"),
])
def test_bad_vocabulary_names_the_entry(raw, match):
    with pytest.raises(VocabError, match=match):
        parse_vocab(raw, "bad.yaml")


def test_missing_vocabulary_file_says_which_key(tmp_path):
    with pytest.raises(VocabError, match="claims.vocab_path"):
        load_vocab(str(tmp_path / "nope.yaml"))


def _papers():
    papers = pd.DataFrame([
        {"study": "s", "paper_id": "2604.14552", "title": "DEEP-GAP", "kept": True,
         "abstract": "Reports L4 throughput up to 4.4 times the T4. The framework offers practical guidance."},
        {"study": "s", "paper_id": "1111.00001", "title": "AnyExperts: on-demand routing", "kept": True,
         "abstract": "Reports 40% fewer real expert activations on image tasks. We thank the reviewers."},
        {"study": "s", "paper_id": "2222.00002", "title": "Dropped", "kept": False,
         "abstract": "The T4 reaches 6,036 images/s."},
    ])
    fulltext = pd.DataFrame([
        {"study": "s", "paper_id": "2604.14552", "status": "ok", "origin": "snapshot", "chars": 10, "reason": "",
         "text": "The L4 delivers up to 4.4x the throughput of the T4. ResNet-18 runs at 3,987 FPS on a T4 in FP16."},
    ])
    return papers, fulltext


def test_claims_frame_rows_and_determinism(tmp_path):
    papers, fulltext = _papers()
    df = claims_frame("s", papers, fulltext, ClaimsConfig(), progress=False)
    again = claims_frame("s", papers, fulltext, ClaimsConfig(), progress=False)
    pd.testing.assert_frame_equal(df, again)
    assert list(df.columns) == CLAIM_COLUMNS and set(CONTRACT["claims"]) <= set(df.columns)
    assert df["claim_id"].is_unique
    assert "2222.00002" not in set(df["paper_id"])  # not kept
    assert set(df["source"]) == {"sentence"} and set(df["extractor"]) == {"rules"} and df["verbatim"].all()
    assert (df["source_sentence"] == df["sentence"]).all() and set(df["status"]) == {"ok"}
    got = {(r.paper_id, r.kind, r.value, r.section, r.mentions) for r in df.itertuples()}
    assert ("2604.14552", "ratio", 4.4, "abstract", 2) in got  # the full text repeats it: one row, two mentions
    assert ("2604.14552", "absolute", 3987.0, "full_text", 1) in got
    assert ("2604.14552", "not_empirical", None, "abstract", 1) in {
        (p, k, None if pd.isna(v) else v, s, m) for p, k, v, s, m in got}
    anyx = df[(df.paper_id == "1111.00001") & (df.kind == "change")].iloc[0]
    assert (anyx.value, anyx.subject_method, anyx.baseline_method, anyx.subject_from_title) == \
        (-40.0, "anyexperts", "fixed top-k", True)
    assert not df["sentence"].str.contains("reviewers").any()


def test_extract_claims_writes_parquet_that_loads_into_the_warehouse(tmp_path):
    papers, fulltext = _papers()
    papers.to_parquet(tmp_path / "papers.parquet")
    fulltext.to_parquet(tmp_path / "fulltext.parquet")
    out = tmp_path / "claims.parquet"
    extract_claims("s", str(tmp_path / "papers.parquet"), str(tmp_path / "fulltext.parquet"), str(out), {})
    first = pd.read_parquet(out)
    extract_claims("s", str(tmp_path / "papers.parquet"), str(tmp_path / "fulltext.parquet"), str(out), {})
    pd.testing.assert_frame_equal(first, pd.read_parquet(out))
    counts = load_warehouse(str(tmp_path / "w.duckdb"), {"claims": [str(out)]}, "h")
    assert counts["claims"] == len(pd.read_parquet(out)) > 0


def _cli(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "sovereign.cli", "claims", *args], input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_cli_arguments_stdin_and_file(tmp_path):
    res = _cli("The L4 delivers 2.13x the ResNet-50 throughput of the T4 under TensorRT INT8.", "Thanks.")
    assert res.returncode == 0, res.stderr
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert [(x["kind"], x.get("value"), x.get("baseline_device")) for x in lines] == \
        [("ratio", 2.13, "t4"), ("not_a_claim", None, None)]
    res = _cli("--claims-only", stdin="Our stack reaches up to 94,620 images/s per H200 GPU. It is nice.\n")
    assert [json.loads(x)["qualifier"] for x in res.stdout.splitlines()] == ["up_to"]
    f = tmp_path / "paper.txt"
    f.write_text("Latency is 0.349 ms on an L4. Each run uses 100 timed iterations.", encoding="utf-8")
    res = _cli("--file", str(f))
    kinds = [json.loads(x)["kind"] for x in res.stdout.splitlines()]
    assert kinds == ["absolute", "not_a_claim"]


def test_cli_missing_file_is_a_clear_error(tmp_path):
    res = _cli("--file", str(tmp_path / "missing.txt"))
    assert res.returncode == 1 and "no such file" in res.stderr


def test_a_claim_takes_its_device_from_an_earlier_sentence_of_its_paragraph_and_is_on_the_frame():
    """The context test: the Xeon sentence names the device two sentences before the INT8 claim."""
    from sovereign.verdicts.frame import build_frame, place_claims

    abstract = ("We study ResNet-50 inference on Intel Xeon CPUs with ONNX Runtime. The calibration uses 500 images. "
                "INT8 inference also cuts latency by up to 3x against FP32.")
    papers = pd.DataFrame([{"paper_id": "3333.00003", "title": "Quantized inference at scale", "abstract": abstract,
                            "kept": True},
                           {"paper_id": "3333.00004", "title": "Quantized inference at scale", "kept": True,
                            "abstract": "Intel Xeon CPUs run our models.\n\nINT8 inference cuts latency by 3x against FP32."}])
    df = claims_frame("cpu", papers, None, ClaimsConfig(), progress=False)
    row = df[(df.paper_id == "3333.00003") & df.sentence.str.startswith("INT8")].iloc[0]
    assert (row.subject_device, row.subject_precision, row.baseline_precision, row.subject_from) == (
        "xeon", "int8", "fp32", "context")
    assert row.subject_context == "device=xeon,model=resnet50,backend=onnxruntime"
    # another paragraph is no context: the claim keeps no device, and says its subject is the sentence's own
    other = df[(df.paper_id == "3333.00004") & df.sentence.str.startswith("INT8")].iloc[0]
    assert pd.isna(other.subject_device) and other.subject_from == "sentence"
    question = ("How much faster is INT8 than FP32 inference for ResNet models on x86 server CPUs with ONNX Runtime, "
                "and how does ONNX Runtime compare with eager PyTorch across batch sizes?")
    placed = place_claims(df[df.kind != "not_empirical"], build_frame("cpu", question), load_vocab(),
                          is_cpu=lambda d: d in ("xeon", "cpu"))
    on = placed.set_index("claim_id")["on_frame"]
    assert on[row.claim_id] and not on[other.claim_id]
