"""The claims rules in real Snakemake runs: real claims for every default study, reruns only what a change touches."""
from __future__ import annotations

import copy
import shutil

import pandas as pd
import pytest

from workflow import ROOT, planned_jobs, run_default, write_config

pytestmark = pytest.mark.slow
STUDIES = ("gpu", "routing", "cpu", "llm")
TARGETS = tuple(f"results/{s}/claim_support.parquet" for s in STUDIES)


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """One real run up to ground_claims for the default studies on the bundled corpus (TF-IDF only, for speed)."""
    workdir = tmp_path_factory.mktemp("claims_wf")
    return workdir, run_default(workdir, *TARGETS)


def test_every_study_gets_claims_marked_as_their_own_source(ran):
    workdir, _ = ran
    for study in STUDIES:
        claims = pd.read_parquet(workdir / f"results/{study}/claims.parquet")
        support = pd.read_parquet(workdir / f"results/{study}/claim_support.parquet")
        empirical = claims[claims["kind"] != "not_empirical"]
        # TF-IDF-only screening keeps few routing papers: 3 gpu, 2 routing and 3 cpu empirical claims on the bundled corpus
        assert len(empirical) >= {"gpu": 3, "routing": 2, "cpu": 3, "llm": 5}[study], claims[["paper_id", "kind", "sentence"]]
        assert set(support["claim_id"]) == set(claims["claim_id"])
        # every claim here is a sentence of its paper: never its own evidence, only an extraction check
        assert (support["method"] == "self").all() and support["verbatim"].all()
        assert support["text_support"].isna().all() and support["supported"].isna().all()
        assert support["numbers_grounded"].all(), support.loc[~support["numbers_grounded"].astype(bool), "missing_numbers"]
        assert (claims["study"] == study).all() and claims["claim_id"].is_unique
    gpu = pd.read_parquet(workdir / "results/gpu/claims.parquet")
    ratio = gpu[(gpu["kind"] == "ratio") & (gpu["subject_device"] == "l4")].iloc[0]
    assert (ratio["value"], ratio["qualifier"], ratio["baseline_device"]) == (4.4, "up_to", "t4")
    routing = pd.read_parquet(workdir / "results/routing/claims.parquet")
    anyx = routing[(routing["subject_method"] == "anyexperts") & (routing["value"] == -40)].iloc[0]
    assert (anyx["metric"], anyx["unit"], anyx["baseline_method"]) == ("expert_activations", "%", "fixed top-k")
    # the cpu study reads IntelCaffe's INT8/FP32 gain as a ratio the CPU grid measures (ONNX Runtime INT8 vs FP32)
    cpu = pd.read_parquet(workdir / "results/cpu/claims.parquet")
    caffe = cpu[(cpu["paper_id"] == "1805.08691") & (cpu["kind"] == "ratio") & (cpu["metric"] == "throughput")]
    row = caffe[caffe["qualifier"] == "up_to"].iloc[0]
    assert (row["value"], row["subject_precision"], row["baseline_precision"]) == (2.9, "int8", "fp32")
    # the llm study reads FlexGen's Hugging Face baseline with its model, tokens/s, backend, batch and lengths
    llm = pd.read_parquet(workdir / "results/llm/claims.parquet")
    hf = llm[(llm["paper_id"] == "2303.06865") & (llm["value"] == 25.12)].iloc[0]
    assert (hf["metric"], hf["unit"], hf["subject_model"], hf["subject_backend"], hf["subject_device"], hf["subject_batch"],
            hf["condition_input_len"], hf["condition_output_len"]) == (
        "token_throughput", "tokens/s", "opt-6.7b", "hf_transformers", "t4", "2", "512", "32")


def test_unchanged_rerun_does_nothing(ran):
    workdir, _ = ran
    assert planned_jobs(workdir, *TARGETS) == {}


def test_support_threshold_reruns_only_grounding(ran):
    workdir, cfg = ran
    changed = copy.deepcopy(cfg)
    changed["claims"]["min_support"] = 0.5
    write_config(workdir, changed)
    try:
        assert planned_jobs(workdir, *TARGETS) == {"ground_claims": len(STUDIES)}
    finally:
        write_config(workdir, copy.deepcopy(cfg))


def test_user_vocabulary_reruns_extraction_and_grounding(ran):
    workdir, cfg = ran
    vocab = workdir / "my_vocab.yaml"
    shutil.copy(ROOT / "config" / "vocab.yaml", vocab)
    changed = copy.deepcopy(cfg)
    changed["claims"]["vocab_path"] = str(vocab)
    write_config(workdir, changed)
    try:
        assert planned_jobs(workdir, *TARGETS) == {"extract_claims": len(STUDIES), "ground_claims": len(STUDIES)}
    finally:
        write_config(workdir, copy.deepcopy(cfg))
