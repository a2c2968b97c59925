"""Real-style claim sentences: held-out and development accuracy, LaTeX residue, conditions, LLM metrics."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_verdicts_data import claim, cnn_rows

from sovereign.claims.accuracy import load_cases, score, score_by_class
from sovereign.claims.clean import clean_residue
from sovereign.claims.parse import SentenceParser
from sovereign.claims.vocab import load_vocab
from sovereign.verdicts.check import check_frame
from sovereign.verdicts.hardware import load_hardware
from sovereign.verdicts.match import Bench
from sovereign.verdicts.settings import CheckConfig

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def parser():
    return SentenceParser(load_vocab())


@pytest.mark.parametrize("name,core,every", [("claims_real_heldout.yaml", 0.90, 0.80), ("claims_real_dev.yaml", 0.95, 0.95)])
def test_real_style_accuracy_targets(parser, name, core, every):
    cases = load_cases(FIXTURES / name)
    assert len(cases) >= 40 and {c["class"] for c in cases} >= {"multi", "latex", "hedge", "reduction", "llm_vocab", "condition"}
    res = score(cases, parser)
    assert res["core"] >= core and res["all"] >= every, (res["core"], res["all"], res["failures"])


def test_development_and_held_out_sets_are_large_enough_and_disjoint():
    dev, held = load_cases(FIXTURES / "claims_real_dev.yaml"), load_cases(FIXTURES / "claims_real_heldout.yaml")
    assert len(dev) + len(held) >= 150 and len(held) >= 40
    assert not {c["text"] for c in dev} & {c["text"] for c in held}


def test_scores_by_class_count_every_case_once(parser):
    cases = load_cases(FIXTURES / "claims_real_dev.yaml")
    by = score_by_class(cases, parser)
    assert sum(v["cases"] for k, v in by.items() if k != "all") == by["all"]["cases"] == len(cases)
    assert by["all"]["per_field"]["condition_seq_len"][1] == sum(len(c["expect"]) for c in cases)


@pytest.mark.parametrize("raw,clean", [
    (r"a 3.2$\times$ speedup", "a 3.2x speedup"),
    (r"by $39\%$ for", "by 39% for"),
    (r"gives 2.5\times lower latency", "gives 2.5x lower latency"),
    (r"\textbf{DeepSpeed} is 7.3\texttimes{} faster", "DeepSpeed is 7.3x faster"),
    ("a gain of 1.5 \u00d7over FP16", "a gain of 1.5x over FP16"),
    ("drops by %27 with", "drops by 27% with"),
    (r"from 12.4\,ms to 3.4~ms", "from 12.4 ms to 3.4 ms"),
    ("a 2.9 speedup over cuBLAS", "a 2.9x speedup over cuBLAS"),
    ("reaches 35 lower latency", "reaches 35 lower latency"),  # an integer may be a lost %, so it stays
    ("The T4 reaches 1,024 images/s.", "The T4 reaches 1,024 images/s."),
])
def test_latex_and_pdf_residue_is_cleaned(raw, clean):
    assert clean_residue(raw) == clean


def test_claim_keeps_the_sentence_as_written(parser):
    s = r"Decode latency drops by $39\%$ on a V100."
    (row,) = parser.parse(s)
    assert row["sentence"] == s and (row["value"], row["unit"], row["subject_device"]) == (-39, "%", "v100")


@pytest.mark.parametrize("sentence,seq,lat", [
    ("At sequence length 4096, FlashAttention-2 is 2x faster than PyTorch.", "4096", None),
    ("For 8k-token prompts, vLLM reaches 900 tokens/s.", "8000", None),
    ("At 100 ms latency, the T4 serves 1,800 queries/s.", None, "100"),
    ("Under a 0.5 s TTFT SLO, vLLM sustains 14 requests/s.", None, "500"),
    ("Time to first token stays under 200 ms on an H100.", None, None),  # the figure itself, not a bound
])
def test_conditions_are_read_and_their_numbers_are_not_claims(parser, sentence, seq, lat):
    (row,) = parser.parse(sentence)
    assert (row["condition_seq_len"], row["condition_latency_ms"]) == (seq, lat)


@pytest.mark.parametrize("sentence,metric", [
    ("vLLM reaches 2,300 tokens/s on an L4.", "token_throughput"),
    ("Time to first token is 180 ms on an L4.", "ttft"),
    ("Time per output token is 25 ms on an L4.", "tpot"),
])
def test_llm_metrics_are_untestable_never_matched_to_an_image_suite(parser, sentence, metric):
    (row,) = parser.parse(sentence)
    assert row["metric"] == metric and row["subject_device"] == "l4"
    bench = Bench(pd.DataFrame(cnn_rows("l4", 4.0)), load_hardware())
    c = claim("c", "p1", sentence, **{k: row[k] for k in ("kind", "metric", "value", "unit", "qualifier", "subject_device")})
    got = check_frame("gpu", pd.DataFrame([c]), None, bench, CheckConfig()).iloc[0]
    assert got["status"] == "UNTESTABLE" and "the suites measure no" in got["reason"]
    # the same figure as images/s on the same device is checked against the suite
    c.update(metric="throughput" if metric == "token_throughput" else "latency",
             unit="images/s" if metric == "token_throughput" else "ms")
    assert check_frame("gpu", pd.DataFrame([c]), None, bench, CheckConfig()).iloc[0]["reason"] != got["reason"]
