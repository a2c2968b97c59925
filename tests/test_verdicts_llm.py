"""LLM-serving claims: plausibility bounds with their arithmetic, backend routing, untestable reasons, and
checks against rows that follow the llm suite's row contract."""
from __future__ import annotations

import pandas as pd
import pytest
from test_verdicts_data import bench_row, claim

from sovereign.claims.parse import SentenceParser
from sovereign.claims.vocab import load_vocab
from sovereign.verdicts.check import check_frame
from sovereign.verdicts.hardware import load_hardware
from sovereign.verdicts.llm_plausibility import memory_capacity
from sovereign.verdicts.match import Bench
from sovereign.verdicts.plausibility import assess
from sovereign.verdicts.settings import CheckConfig

HW = load_hardware()
CFG = CheckConfig()


@pytest.fixture(scope="module")
def parser():
    return SentenceParser(load_vocab())


def read(parser, sentence: str, cid: str = "c1") -> dict:
    """The first claim the rules read from `sentence`, as a claims-table row."""
    row = parser.parse(sentence)[0]
    return claim(cid, "2401.00001", sentence, **{k: v for k, v in row.items() if k != "sentence"})


def llm_row(backend: str, batch: int, tpot: float, ttft: float, model: str = "gpt2", device: str = "cpu",
            precision: str = "fp32", input_len: int = 32, output_len: int = 16, **extra) -> dict:
    """One llm-suite row of the contract: TTFT, TPOT, e2e and the tokens/s columns derived as the suite derives them."""
    e2e = ttft + tpot * (output_len - 1)
    row = bench_row(device, model, backend, precision, batch, batch * 1000 / e2e, suite="llm",
                    input_len=input_len, output_len=output_len, ttft_ms_p50=ttft, tpot_ms_p50=tpot,
                    itl_ms_p50=tpot, e2e_ms_p50=e2e, tokens_per_s_per_seq=1000 / tpot,
                    output_tokens_per_s=batch * output_len * 1000 / e2e,
                    total_tokens_per_s=batch * (input_len + output_len) * 1000 / e2e, params_b=0.124)
    row.update(latency_ms_p50=e2e, **extra)
    return row


# gpt2 on this CPU: eager HF is the slowest, the compiled own decoder the fastest
ROWS = [llm_row("hf_eager", 1, tpot=20.0, ttft=30.0), llm_row("hf_eager", 4, tpot=25.0, ttft=90.0),
        llm_row("hf_static_compile", 1, tpot=12.0, ttft=28.0), llm_row("fast_decode", 1, tpot=8.0, ttft=25.0),
        llm_row("fast_decode", 4, tpot=10.0, ttft=80.0)]


def check(claims: list[dict], rows=ROWS) -> pd.DataFrame:
    return check_frame("llm", pd.DataFrame(claims), None, Bench(pd.DataFrame(rows), HW), CFG).set_index("claim_id")


# -- plausibility: the three examples and the prefill bound -----------------------------------
def test_devices_file_gives_memory_capacity_for_the_llm_devices():
    mem = memory_capacity()
    assert {k: mem[k] for k in ("l40s", "a100", "a100_40gb", "h100", "h200", "l4", "t4")} == {
        "l40s": 48, "a100": 80, "a100_40gb": 40, "h100": 80, "h200": 141, "l4": 24, "t4": 16}


def test_70b_fp16_does_not_fit_a_48gb_l40s(parser):
    p = assess(read(parser, "Llama-2-70B in FP16 generates 12 tokens/s on an L40S."), HW, CFG)
    assert p["plausibility"] == "implausible"
    assert "138.0 GB of fp16 weights" in p["reason"] and "> 48 GB of the l40s" in p["reason"]
    assert all(w in p["reason"] for w in ("offload", "quantisation (int4 weights: 34.5 GB, fits)", "at least 3 x 48 GB"))


def test_13b_fp16_at_800_tokens_per_s_batch_1_on_an_a100_is_above_the_bandwidth_bound(parser):
    p = assess(read(parser, "Llama-2-13B in FP16 decodes 800 tokens/s at batch size 1 on an A100."), HW, CFG)
    assert p["plausibility"] == "implausible" and p["utilization"] > 10
    assert "2,039 GB/s / 26.03 GB = 78.3 tok/s per sequence" in p["reason"] and "1021%" in p["reason"]


def test_7b_fp16_at_60_tokens_per_s_on_an_a100_is_plausible(parser):
    p = assess(read(parser, "Llama-2-7B in FP16 decodes 60 tokens/s on an A100."), HW, CFG)
    assert p["plausibility"] == "plausible" and p["utilization"] == pytest.approx(60 / 151.3, rel=0.01)
    assert "2,039 GB/s / 13.48 GB = 151.3 tok/s" in p["reason"]


def test_a_40gb_a100_has_its_own_bandwidth_and_memory(parser):
    p = assess(read(parser, "Llama-2-7B in FP16 decodes 60 tokens/s on an A100 40GB."), HW, CFG)
    assert "1,555 GB/s" in p["reason"] and p["plausibility"] == "plausible"
    p = assess(read(parser, "Llama-2-70B in FP16 decodes 10 tokens/s on an A100 40GB."), HW, CFG)
    assert p["plausibility"] == "implausible" and "> 40 GB of the a100_40gb" in p["reason"]


def test_the_kv_cache_at_the_stated_context_counts_in_the_bound(parser):
    short = assess(read(parser, "Llama-2-7B in FP16 decodes 100 tokens/s at batch size 1 on an A100."), HW, CFG)
    long = assess(read(parser, "With an input length of 4,000 tokens, Llama-2-7B in FP16 decodes 100 tokens/s per sequence "
                               "at batch size 16 on an A100."), HW, CFG)
    # 16 sequences x 4,000 tokens x 0.5 MB per token = 33.6 GB of KV cache read every step: 43 tok/s at most
    assert short["plausibility"] == "plausible"
    assert "33.55 GB KV cache (4000 tokens x 16)" in long["reason"] and long["plausibility"] == "implausible"


def test_an_aggregate_figure_is_bounded_by_batch_times_the_per_sequence_bound(parser):
    p = assess(read(parser, "The aggregate throughput of Llama-2-7B in FP16 is 3,000 tokens/s at batch size 32 "
                            "on an A100."), HW, CFG)
    assert p["plausibility"] == "plausible" and "aggregate (32 x" in p["reason"]


def test_an_unstated_scope_above_the_one_sequence_bound_is_questionable(parser):
    p = assess(read(parser, "Llama-2-7B decodes 600 tokens/s on an A100."), HW, CFG)
    assert p["plausibility"] == "questionable" and "fp16 assumed" in p["reason"] and "at least 4" in p["reason"]


def test_a_ttft_below_the_prefill_compute_bound_is_implausible(parser):
    p = assess(read(parser, "For 2,048 input tokens at batch size 8, Llama-2-7B in FP16 has a TTFT of 30 ms on "
                            "an H100."), HW, CFG)
    assert p["plausibility"] == "implausible"
    assert "2 x 6.74B x 16384 = 220.8 TFLOP" in p["reason"] and "fp16 peak 990 TFLOP/s" in p["reason"]
    ok = assess(read(parser, "For 512 input tokens, Llama-2-7B in FP16 has a TTFT of 40 ms on an H100."), HW, CFG)
    assert ok["plausibility"] == "plausible"


def test_a_claim_that_offloads_is_not_bounded_as_one_device(parser):
    p = assess(read(parser, "With offloading to CPU memory, OPT-30B generates 7.32 tokens/s on a T4."), HW, CFG)
    assert p["plausibility"] == "unknown" and "offloads" in p["reason"]


# -- checks: backend routing ---------------------------------------------------------------------------
@pytest.mark.parametrize("sentence,backend", [
    ("With Hugging Face Transformers, GPT-2 in FP32 decodes 50 tokens/s at batch size 1 on the CPU.", "hf_eager"),
    ("With Hugging Face Transformers and a static cache, GPT-2 in FP32 decodes 80 tokens/s at batch size 1 on the CPU.",
     "hf_static_compile"),
    ("With gpt-fast, GPT-2 in FP32 decodes 125 tokens/s at batch size 1 on the CPU.", "fast_decode"),
])
def test_a_backend_claim_is_checked_against_its_own_backend_only(parser, sentence, backend):
    res = check([read(parser, sentence)]).loc["c1"]
    assert res["status"] == "REPRODUCED", res["reason"]
    assert f"/{backend}/fp32/b1" in res["bench_rows"]


def test_hf_claims_are_never_checked_against_a_faster_backend(parser):
    # 125 tok/s is what fast_decode measures; HF eager measured 50, so the HF claim does not hold
    res = check([read(parser, "With Hugging Face Transformers, GPT-2 decodes 125 tokens/s at batch size 1 on the CPU.")])
    row = res.loc["c1"]
    assert row["status"] == "NOT_REPRODUCED" and row["measured_value"] == pytest.approx(50.0)
    assert "fast_decode" not in row["bench_rows"] and "HF Transformers -> hf_eager" in row["reason"]


@pytest.mark.parametrize("backend,name", [("vLLM", "vLLM"), ("TensorRT-LLM", "TensorRT-LLM"), ("llama.cpp", "llama.cpp"),
                                          ("DeepSpeed", "DeepSpeed"), ("SGLang", "SGLang"), ("TGI", "TGI")])
def test_a_serving_stack_that_cannot_run_here_is_untestable_naming_it(parser, backend, name):
    res = check([read(parser, f"With {backend}, GPT-2 decodes 125 tokens/s at batch size 1 on the CPU.")]).loc["c1"]
    assert res["status"] == "UNTESTABLE" and res["reason"].startswith(f"{name}") and "cannot run here" in res["reason"]


# -- checks: untestable reasons ------------------------------------------------------------------------
@pytest.mark.parametrize("sentence,needle", [
    ("4-bit AWQ GPT-2 decodes 125 tokens/s at batch size 1 on the CPU.", "awq weights: the llm suite runs fp32/fp16/bf16"),
    ("In INT8, GPT-2 decodes 125 tokens/s at batch size 1 on the CPU.", "int8 weights"),
    ("In FP8, GPT-2 decodes 125 tokens/s at batch size 1 on the CPU.", "fp8 weights"),
    ("OPT-175B decodes 1 token/s at batch size 1 on the CPU.", "opt-175b is not in the model registry"),
    ("Llama 2 decodes 30 tokens/s on the CPU.", "names llama-2 without a size (the registry has llama-2-7b, "
                                                "llama-2-13b, llama-2-70b)"),
    ("Llama-2-7B decodes 30 tokens/s on an A100 with Hugging Face Transformers.",
     "no a100 results (the llm rows of this run ran on NVIDIA H200, Test CPU)"),
    ("GPT-2 decodes 30 tokens/s with Hugging Face Transformers.", "names no device"),
    ("Llama-2-7B decodes 30 tokens/s on the CPU with Hugging Face Transformers.", "no llama-2-7b results"),
    ("With an input length of 2,048, GPT-2 decodes 30 tokens/s at batch size 1 on the CPU.",
     "no input length 2048 measured for gpt2 (input lengths measured: 32)"),
])
def test_untestable_claims_name_what_is_missing(parser, sentence, needle):
    rows = ROWS + [llm_row("hf_eager", 1, 20.0, 30.0, device="h200", model="gpt2")]  # the GPU run measured gpt2 only
    res = check([read(parser, sentence)], rows).loc["c1"]
    assert res["status"] == "UNTESTABLE" and needle in res["reason"], res["reason"]


# -- checks: REPRODUCED and NOT_REPRODUCED on contract rows ---------------------------------------------
def test_ttft_tpot_and_aggregate_claims_reproduce_or_not_against_the_rows(parser):
    claims = [read(parser, "With Hugging Face Transformers, GPT-2 reaches a TTFT of 31 ms at batch size 1 on the CPU.", "ttft"),
              read(parser, "With Hugging Face Transformers, GPT-2 has a TPOT of 10 ms at batch size 1 on the CPU.", "tpot"),
              read(parser, "With Hugging Face Transformers, GPT-2 reaches an aggregate 160 tokens/s at batch size 4 "
                           "on the CPU.", "agg")]
    res = check(claims)
    assert res.loc["ttft", "status"] == "REPRODUCED" and res.loc["ttft", "measured_value"] == 30.0
    assert res.loc["tpot", "status"] == "NOT_REPRODUCED" and res.loc["tpot", "measured_value"] == 20.0
    agg = 4 * 16 * 1000 / (90 + 25 * 15)
    assert res.loc["agg", "status"] == "REPRODUCED" and res.loc["agg", "measured_value"] == pytest.approx(agg)
    assert "aggregate tokens/s" in res.loc["agg", "reason"]


def test_a_speedup_between_backends_is_the_ratio_of_their_rows(parser):
    c = read(parser, "With gpt-fast, GPT-2 decodes 2.5x faster than with Hugging Face Transformers at batch size 1 "
                     "on the CPU.")
    res = check([c]).loc["c1"]
    assert res["status"] == "REPRODUCED", res["reason"]
    assert "fast_decode/fp32/b1" in res["bench_rows"] and "hf_eager/fp32/b1" in res["bench_rows"]


def test_an_absolute_claim_is_decided_over_every_matching_row_not_the_best(parser):
    # two prompt lengths for HF eager at batch 1; the claim names none: some matching row within tolerance decides
    rows = [llm_row("hf_eager", 1, tpot=20.0, ttft=30.0, input_len=32), llm_row("hf_eager", 1, tpot=40.0, ttft=300.0,
                                                                                input_len=512)]
    c = read(parser, "With Hugging Face Transformers, GPT-2 decodes 25 tokens/s at batch size 1 on the CPU.")
    res = check([c], rows).loc["c1"]
    assert res["status"] == "REPRODUCED" and res["measured_value"] == pytest.approx(25.0), res["reason"]
    assert "input 512" in res["reason"] and "the 2 matching rows measured 25-50 tok/s" in res["reason"]
    up_to = read(parser, "With Hugging Face Transformers, GPT-2 decodes up to 25 tokens/s at batch size 1 on the CPU.")
    res = check([up_to], rows).loc["c1"]  # "up to" is held to the best row: 50 tok/s
    assert res["status"] == "NOT_REPRODUCED" and res["measured_value"] == pytest.approx(50.0), res["reason"]


def test_a_ratio_pairs_rows_measured_at_the_same_lengths(parser):
    # the fast path was measured at two prompt lengths, HF eager at the long one only: one pair, 16 ms vs 40 ms
    rows = [llm_row("fast_decode", 1, tpot=8.0, ttft=20.0, input_len=32),
            llm_row("fast_decode", 1, tpot=16.0, ttft=90.0, input_len=512),
            llm_row("hf_eager", 1, tpot=40.0, ttft=300.0, input_len=512)]
    c = read(parser, "With gpt-fast, GPT-2 decodes 2.5x faster than with Hugging Face Transformers at batch size 1 "
                     "on the CPU.")
    res = check([c], rows).loc["c1"]
    # output tokens/s over e2e: (300 + 40 x 15) / (90 + 16 x 15) = 2.73x; best over best, across prompt lengths,
    # would be 900 / (20 + 8 x 15) = 6.4x
    assert res["status"] == "REPRODUCED" and res["measured_value"] == pytest.approx(900 / 330), res["reason"]
    assert "input 512" in res["reason"] and "input 32" not in res["reason"]
    apart = [rows[0], llm_row("hf_eager", 1, tpot=40.0, ttft=300.0, input_len=512)]
    res = check([c], apart).loc["c1"]
    assert res["status"] == "UNTESTABLE" and "share no backend, host, batch, precision and lengths" in res["reason"]


FAST_VS_HF = "compared with Hugging Face Transformers at batch size 1 on the CPU."
HF_VS_FAST = "compared with gpt-fast at batch size 1 on the CPU."
# On ROWS, gpt-fast's TPOT is 8 ms and HF eager's 20 ms: a 60% cut, a 2.5x speed-up, HF +150%.
# (sentence, status, measured value, words in the reason)
CHANGES = [
    (f"With gpt-fast, GPT-2 cuts the time per output token by 60% {FAST_VS_HF}", "REPRODUCED", -60.0,
     "speed-up 2.5x vs 2.5x"),
    (f"With gpt-fast, GPT-2 cuts the time per output token by 20% {FAST_VS_HF}", "NOT_REPRODUCED", -60.0, "vs 1.25x"),
    (f"With gpt-fast, GPT-2's time per output token drops from 20 ms to 8 ms {FAST_VS_HF}", "REPRODUCED", 2.5,
     "vs claimed 2.5x"),
    (f"With gpt-fast, GPT-2's time per output token drops from 20 ms to 2 ms {FAST_VS_HF}", "NOT_REPRODUCED", 2.5,
     "vs claimed 10x"),
    # a claimed rise is a speed-up below 1: "at most 10%" against +150% does not hold, "up to 160%" does
    (f"With Hugging Face Transformers, GPT-2's time per output token rises by at most 10% {HF_VS_FAST}",
     "NOT_REPRODUCED", 150.0, "vs claimed +10%"),
    ("With Hugging Face Transformers, GPT-2's time per output token is up to 160% higher than with gpt-fast at "
     "batch size 1 on the CPU.", "REPRODUCED", 150.0, "vs claimed +160%"),
]


@pytest.mark.parametrize("sentence,status,measured,words", CHANGES, ids=[c[0][:70] for c in CHANGES])
def test_percent_changes_and_from_to_pairs_are_one_speed_up_rule(parser, sentence, status, measured, words):
    res = check([read(parser, sentence)]).loc["c1"]
    assert res["status"] == status and res["measured_value"] == pytest.approx(measured), res["reason"]
    assert words in res["reason"]


def test_a_ratio_naming_no_backend_compares_each_backend_with_itself(parser):
    # FP16 is 2x FP32 on each backend; across backends (fast FP16 against HF FP32) it would be about 6x
    rows = [llm_row("fast_decode", 1, tpot=4.0, ttft=10.0, precision="fp16"),
            llm_row("fast_decode", 1, tpot=8.0, ttft=20.0),
            llm_row("hf_eager", 1, tpot=10.0, ttft=15.0, precision="fp16"),
            llm_row("hf_eager", 1, tpot=20.0, ttft=30.0)]
    six = read(parser, "GPT-2 in FP16 decodes 6x faster than in FP32 at batch size 1 on the CPU.", "six")
    two = read(parser, "GPT-2 in FP16 decodes 2x faster than in FP32 at batch size 1 on the CPU.", "two")
    res = check([six, two], rows)
    assert res.loc["six", "status"] == "NOT_REPRODUCED", res.loc["six", "reason"]
    assert res.loc["two", "status"] == "REPRODUCED" and "2 pairs measured 2x-2x" in res.loc["two", "reason"]


def test_a_from_to_pair_is_the_claim_whatever_value_holds(parser):
    c = read(parser, "With gpt-fast, GPT-2's time per output token drops from 20 ms to 8 ms compared with "
                     "Hugging Face Transformers at batch size 1 on the CPU.")
    c["value"] = 8.0  # an extractor may keep the end figure as the value
    res = check([c]).loc["c1"]
    assert res["status"] == "REPRODUCED" and res["measured_value"] == pytest.approx(2.5), res["reason"]


# -- the answer says what this hardware measured -------------------------------------------------------
def test_the_answer_states_decode_speed_and_ttft_by_batch_for_each_backend(parser):
    from sovereign.verdicts.answer import build_answer
    frame = {"study": "llm", "question": "How do tokens/s and TTFT scale with batch size?", "subject": {},
             "baseline": {}, "metrics": ["throughput", "ttft"], "swept": ["batch size"], "datasets": [],
             "method_families": []}
    bench = Bench(pd.DataFrame(ROWS), HW)
    checks = check([read(parser, "With Hugging Face Transformers, GPT-2 has a TPOT of 10 ms at batch size 1 on the CPU.",
                         "tpot")], ROWS).reset_index()
    ans = build_answer(frame, checks, bench)
    (llm,) = [c for c in ans["comparisons"] if c["comparison"].startswith("decode throughput and TTFT")]
    assert llm["finding"].startswith("On Test CPU, gpt2 in fp32 (32 prompt and 16 output tokens")
    assert "hf_eager decodes 50 tok/s per sequence at batch 1 (TTFT 30 ms)" in llm["finding"]
    assert "x the aggregate throughput for 4x the batch, TTFT 3.00x" in llm["finding"]
    assert [c["status"] for c in llm["claims"]] == ["NOT_REPRODUCED"] and len(llm["measured"]) == len(ROWS)
    # without llm rows the answer has no such entry
    assert not [c for c in build_answer(frame, checks, Bench(pd.DataFrame([bench_row("cpu", "resnet18", "torch_eager",
                "fp32", 1, 100.0)]), HW))["comparisons"] if c["comparison"].startswith("decode")]


def test_a_figure_at_a_stated_batch_is_read_as_the_batch_total(parser):
    # FlexGen's Hugging Face Accelerate baseline: OPT-6.7B at an effective batch of 2 on a T4 (prompt 512, 32 new)
    p = assess(read(parser, "For 512-token prompts and 32 output tokens on the T4, Hugging Face Accelerate generates "
                            "25.12 tokens/s for OPT-6.7B at an effective batch size of 2."), HW, CFG)
    assert p["plausibility"] == "plausible" and "aggregate (2 x 23.0)" in p["reason"]
    assert "0.57 GB KV cache (544 tokens x 2)" in p["reason"] and "320 GB/s" in p["reason"]


def test_a_7b_gpu_claim_in_a_cpu_only_run_names_the_device_and_the_cpu_it_ran_on(parser):
    res = check([read(parser, "With Hugging Face Transformers, Llama-2-7B in FP16 decodes 30 tokens/s at batch size 1 "
                              "on an A100.")]).loc["c1"]
    assert res["status"] == "UNTESTABLE"
    assert res["reason"].startswith("no a100 results (the llm rows of this run ran on Test CPU)")
    assert "plausibility: decode at batch 1 reads 13.48 GB of fp16 weights" in res["reason"]


def test_llm_claims_keep_their_rows_when_the_evidence_spans_suites(parser):
    """The revision round reads every suite's rows: each suite picks its own protocol, so the llm rows
    (protocol llm_generate) are not dropped in favour of the CNN suite's stable rows."""
    rows = [{**r, "protocol": "llm_generate"} for r in ROWS] + [
        {**bench_row("cpu", "resnet18", "torch_eager", "fp32", 8, 100.0), "protocol": "stable"}]
    claims = [read(parser, "With Hugging Face Transformers, GPT-2 reaches a TTFT of 31 ms at batch size 1 on the CPU.",
                   "ttft")]
    res = check(claims, rows)
    assert res.loc["ttft", "status"] == "REPRODUCED", res.loc["ttft", "reason"]
    assert "protocol llm_generate" in res.loc["ttft", "reason"] and "protocol stable" not in res.loc["ttft", "reason"]


def test_an_moe_model_above_batch_1_reads_every_expert_its_tokens_reach(parser):
    """At batch 32 Mixtral's top-2 reaches all 8 experts: a decode step reads all 93 GB, not the 2 active ones."""
    p = assess(read(parser, "Mixtral-8x7B in FP16 reaches an aggregate 2,000 tokens/s at batch size 32 on an H200."),
               HW, CFG)
    assert p["plausibility"] == "implausible", p["reason"]
    assert "decode at batch 32 reads 93." in p["reason"]


def test_time_units_of_llm_claims_use_the_one_parser(parser):
    import dataclasses

    from sovereign.verdicts.llm_reading import read_llm_claim

    r = read_llm_claim(read(parser, "With Hugging Face Transformers, GPT-2 has a TPOT of 10 ms at batch size 1 on the CPU."))
    assert r.value_ms == pytest.approx(10.0)
    for value, unit, ms in ((500.0, "\u03bcs", 0.5), (500.0, "ns", 5e-4), (2.0, "s", 2000.0)):  # Greek mu
        assert dataclasses.replace(r, value=value, unit=unit).value_ms == pytest.approx(ms)


def test_a_cnn_claim_is_never_decided_by_llm_rows():
    """llm rows' throughput is requests/s: a precision claim naming no model must not be answered by them."""
    rows = [llm_row("hf_eager", 1, tpot=20.0, ttft=30.0, precision="fp32", device="h200"),
            llm_row("hf_eager", 1, tpot=10.0, ttft=15.0, precision="fp16", device="h200")]
    c = claim("f", "2401.00001", "FP16 is 2x faster than FP32 on the H200.", kind="ratio", metric="throughput",
              unit="x", value=2.0, qualifier="exact", subject_device="h200", subject_precision="fp16",
              baseline_precision="fp32")
    res = check([c], rows).loc["f"]
    assert res["status"] == "UNTESTABLE" and "llm/" not in str(res["bench_rows"]), res["reason"]
