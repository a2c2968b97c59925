# Verdicts: frame_study (what the question is about; on-frame claims only) -> check_claims (claims against
# measurements, hardware plausibility) -> tribunal (answer from the measurements, then the verdict; per study).
# Both need the claims stage; benchmark rows come from whatever the bench stages registered.
import os
from pathlib import Path

DEVICES_FILE = config["verdicts"]["devices_file"] or os.path.join(workflow.basedir, "config", "devices.yaml")
# This run's bench files (the bench stages, included before this file, registered them); reference rows
# reach check_claims and the tribunal through their own input, never as if this run had measured them.
BENCH_INPUTS = lambda wc, run=WAREHOUSE_INPUTS.get("bench_results"): run(wc) if run else []


# Results files measured elsewhere (verdicts.reference_results, default none): read once into origin
# `reference` rows with their file, commit and date; the REFERENCE.yaml beside a file records those.
REFERENCE_RESULTS = [resource_path(p) for p in config["verdicts"]["reference_results"]]
REFERENCE_ROWS = "results/reference/bench_reference.parquet"


REFERENCE_INPUT = [REFERENCE_ROWS] if REFERENCE_RESULTS else []


rule read_reference_results:
    input:
        files=REFERENCE_RESULTS,
        meta=sorted(
            {
                str(Path(p).with_name("REFERENCE.yaml"))
                for p in REFERENCE_RESULTS
                if Path(p).with_name("REFERENCE.yaml").exists()
            }
        ),
    output:
        REFERENCE_ROWS,
    log:
        "results/logs/read_reference_results.log",
    conda:
        "../envs/literature.yaml"
    params:
        files=REFERENCE_RESULTS,
    script:
        "../scripts/read_reference_results.py"


rule frame_study:
    input:
        claims="results/{study}/claims.parquet",
        papers="results/{study}/papers.parquet",
        fulltext="results/{study}/fulltext.parquet",
        vocab=VOCAB_FILE,
        devices=DEVICES_FILE,
    output:
        frame="results/{study}/frame.json",
        claims="results/{study}/claims_on_frame.parquet",
        rows="results/{study}/study_frames.parquet",
    log:
        "results/logs/frame_study/{study}.log",
    benchmark:
        "results/benchmarks/frame_study/{study}.tsv"
    conda:
        "../envs/literature.yaml"
    params:
        question=lambda wc: study_question(wc.study),
        # pinned to papers without a question: the frame is built from those papers' claims
        from_claims=lambda wc: not config["studies"][wc.study].get("question"),
        papers=lambda wc: config["studies"][wc.study]["papers"],
        min_share=config["tribunal"]["drift_min_term_share"],
    script:
        "../scripts/frame_study.py"


rule check_claims:
    input:
        claims="results/{study}/claims_on_frame.parquet",
        support="results/{study}/claim_support.parquet",
        bench=BENCH_INPUTS,
        reference=REFERENCE_INPUT,
        devices=DEVICES_FILE,
    output:
        "results/{study}/claim_checks.parquet",
    log:
        "results/logs/check_claims/{study}.log",
    benchmark:
        "results/benchmarks/check_claims/{study}.tsv"
    conda:
        "../envs/literature.yaml"
    params:
        suites=lambda wc: config["studies"][wc.study]["suites"],
        verdicts=config["verdicts"],
        contradiction_factor=config["tribunal"]["contradiction_factor"],
    script:
        "../scripts/check_claims.py"


# The revision round's refined searches: on the login node like search_arxiv (arXiv needs internet),
# and before the tribunal, which reads the records only when its round-1 score calls for a revision.
REQUERY = config["tribunal"]["requery_max"] > 0


localrules:
    requery_arxiv,


rule requery_arxiv:
    input:
        queries="results/{study}/queries.json",
        papers="results/{study}/papers.parquet",
        fulltext="results/{study}/fulltext.parquet",
        claims="results/{study}/claims.parquet",
        snapshot=lambda wc: SNAPSHOT_INPUT,
    output:
        queries="results/{study}/revision/queries.json",
        records="results/{study}/revision/records.jsonl",
    log:
        "results/logs/requery_arxiv/{study}.log",
    conda:
        "../envs/literature.yaml"
    resources:
        arxiv_api=1,
    params:
        **SEARCH_PARAMS,
        question=lambda wc: study_question(wc.study),
        # a study pinned to papers reads those papers only: its revision round searches nothing
        max_queries=lambda wc: 0 if config["studies"][wc.study]["papers"] else config["tribunal"]["requery_max"],
        # like search_arxiv's (rules/literature.smk): an `auto` fallback searches live again next run
        live_attempt=lambda wc: live_attempt_param(
            f"results/{wc.study}/revision/records.jsonl", f"the refined searches of study {wc.study}"
        ),
    script:
        "../scripts/requery_arxiv.py"


rule tribunal:
    input:
        screening="results/{study}/screening.json",
        frame="results/{study}/frame.json",
        papers="results/{study}/papers.parquet",
        fulltext="results/{study}/fulltext.parquet",
        claims="results/{study}/claims_on_frame.parquet",
        support="results/{study}/claim_support.parquet",
        checks="results/{study}/claim_checks.parquet",
        bench=BENCH_INPUTS,
        reference=REFERENCE_INPUT,
        devices=DEVICES_FILE,
        requery=["results/{study}/revision/records.jsonl"] if REQUERY else [],
    output:
        verdict="results/{study}/verdict.json",
        reviews="results/{study}/tribunal_reviews.parquet",
        verdicts="results/{study}/verdicts.parquet",
        checks="results/{study}/claim_checks_final.parquet",
        answer="results/{study}/answer.json",
        answers="results/{study}/answers.parquet",
    log:
        "results/logs/tribunal/{study}.log",
    benchmark:
        "results/benchmarks/tribunal/{study}.tsv"
    conda:
        "../envs/literature.yaml"
    params:
        question=lambda wc: study_question(wc.study),
        suites=lambda wc: config["studies"][wc.study]["suites"],
        verdicts=config["verdicts"],
        tribunal=config["tribunal"],
        embeddings=config["embeddings"],
        claims={k: config["claims"][k] for k in ("agree_tolerance", "vocab_path")},
        keep_threshold=(
            config["screening"]["embedding_threshold"]
            if config["embeddings"]["backend"] != "none"
            else config["screening"]["tfidf_threshold"]
        ),
    script:
        "../scripts/tribunal.py"


# Reference rows load into bench_results beside this run's rows (labelled origin `reference`).
_bench_before_reference = WAREHOUSE_INPUTS.get("bench_results")
WAREHOUSE_INPUTS["bench_results"] = (
    lambda wc: (_bench_before_reference(wc) if _bench_before_reference else []) + REFERENCE_INPUT
)

# Without the claims stage there is nothing to check; the rest of the workflow still runs.
if "claims" in WAREHOUSE_INPUTS:
    WAREHOUSE_INPUTS["claim_checks"] = lambda wc: expand("results/{study}/claim_checks_final.parquet", study=STUDIES)
    WAREHOUSE_INPUTS["tribunal_reviews"] = lambda wc: expand("results/{study}/tribunal_reviews.parquet", study=STUDIES)
    WAREHOUSE_INPUTS["verdicts"] = lambda wc: expand("results/{study}/verdicts.parquet", study=STUDIES)
    WAREHOUSE_INPUTS["study_frames"] = lambda wc: expand("results/{study}/study_frames.parquet", study=STUDIES)
    WAREHOUSE_INPUTS["answers"] = lambda wc: expand("results/{study}/answers.parquet", study=STUDIES)
