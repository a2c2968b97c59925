"""Reading LLM-serving claims: model, tokens/s scope, TTFT/TPOT, lengths, batch, concurrency, precision, backend."""
from __future__ import annotations

from pathlib import Path

import pytest

from sovereign.bench.llm.registry import resolve
from sovereign.claims.accuracy import compare, load_cases
from sovereign.claims.parse import SentenceParser
from sovereign.claims.vocab import load_vocab

CASES = load_cases(Path(__file__).parent / "fixtures" / "claims_llm_read.yaml")


@pytest.fixture(scope="module")
def parser():
    return SentenceParser(load_vocab())


def test_fixture_is_large_and_covers_every_field_class():
    assert len(CASES) >= 25
    assert {c["class"] for c in CASES} == {"model", "metric", "length", "precision", "backend"}


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:48] for c in CASES])
def test_sentence_is_read_as_a_careful_reader_reads_it(parser, case):
    got = parser.parse(case["text"])
    assert len(got) == len(case["expect"]), got
    for exp, row in zip(case["expect"], got):
        wrong = {f: row.get(f) for f, ok in compare(exp, row).items() if not ok and f != "range"}
        assert not wrong, (wrong, exp)


@pytest.mark.parametrize("sentence,key", [
    ("Llama-2-13B reaches 40 tokens/s on an A100.", "llama-2-13b"),
    ("Llama 3.1 8B reaches 40 tokens/s on an A100.", "llama-3.1-8b"),
    ("Llama-2-70B reaches 40 tokens/s on an A100.", "llama-2-70b"),
    ("LLaMA-2 7B reaches 40 tokens/s on an A100.", "llama-2-7b"),
    ("OPT-6.7B reaches 40 tokens/s on an A100.", "opt-6.7b"),
    ("Mixtral 8x7B reaches 40 tokens/s on an A100.", "mixtral-8x7b"),
    ("Pythia-14M reaches 40 tokens/s on the CPU.", "pythia-14m"),
])
def test_models_resolve_to_their_own_registry_entry(parser, sentence, key):
    spec = resolve(parser.parse(sentence)[0]["subject_model"])
    assert spec is not None and spec.key == key


@pytest.mark.parametrize("sentence,named", [
    ("Llama 2 reaches 30 tokens/s on a T4.", "llama-2"),
    ("Llama-2 34B reaches 30 tokens/s on a T4.", "llama-2-34b"),
])
def test_an_unknown_size_is_named_not_guessed(parser, sentence, named):
    model = parser.parse(sentence)[0]["subject_model"]
    assert model == named and resolve(model) is None


@pytest.mark.parametrize("sentence", [
    "We opt to report the 95th percentile at 40 ms on an A100.",  # 'opt' the verb is no model
    "The ResNet-50 runs at 3,000 images/s on an A100 in FP16.",
])
def test_common_words_are_not_read_as_model_families(parser, sentence):
    assert all(r["subject_model"] in (None, "resnet50") for r in parser.parse(sentence))


def test_length_and_concurrency_numbers_are_conditions_not_claims(parser):
    rows = parser.parse("With 64 concurrent requests of 512 input tokens and 128 output tokens, "
                        "vLLM reaches 2,000 tokens/s in total on an A100.")
    assert [(r["value"], r["unit"]) for r in rows] == [(2000.0, "tokens/s")]
    assert (rows[0]["condition_concurrency"], rows[0]["condition_input_len"], rows[0]["condition_output_len"],
            rows[0]["condition_token_scope"]) == ("64", "512", "128", "aggregate")
