# Verdicts: frame_study (what the question is about; on-frame claims only) -> check_claims (claims against
# measurements, hardware plausibility) -> tribunal (answer from the measurements, then the verdict; per study).
# Both need the claims stage; benchmark rows come from whatever the bench stages registered.
import os


def _bench_inputs(wc):
    func = WAREHOUSE_INPUTS.get("bench_results")
    return func(wc) if func else []


def _devices_file(wc):
    path = config["verdicts"]["devices_file"]
    return path or os.path.join(workflow.basedir, "config", "devices.yaml")


rule frame_study:
    input:
        claims="results/{study}/claims.parquet",
        papers="results/{study}/papers.parquet",
        fulltext="results/{study}/fulltext.parquet",
        vocab=_vocab_file,
        devices=_devices_file,
    output:
        frame="results/{study}/frame.json",
        claims="results/{study}/claims_on_frame.parquet",
        rows="results/{study}/study_frames.parquet",
    params:
        question=lambda wc: config["studies"][wc.study]["question"],
        min_share=config["tribunal"]["drift_min_term_share"],
    log:
        "results/logs/frame_study/{study}.log",
    benchmark:
        "results/benchmarks/frame_study/{study}.tsv"
    conda:
        "../envs/literature.yaml"
    script:
        "../scripts/frame_study.py"


rule check_claims:
    input:
        claims="results/{study}/claims_on_frame.parquet",
        support="results/{study}/claim_support.parquet",
        bench=_bench_inputs,
        devices=_devices_file,
    output:
        "results/{study}/claim_checks.parquet",
    params:
        suites=lambda wc: config["studies"][wc.study]["suites"],
        verdicts=config["verdicts"],
        contradiction_factor=config["tribunal"]["contradiction_factor"],
    log:
        "results/logs/check_claims/{study}.log",
    benchmark:
        "results/benchmarks/check_claims/{study}.tsv"
    conda:
        "../envs/literature.yaml"
    script:
        "../scripts/check_claims.py"


# The revision round's refined searches: on the login node like search_arxiv (arXiv needs internet),
# and before the tribunal, which reads the records only when its round-1 score calls for a revision.
REQUERY = config["tribunal"]["requery_max"] > 0


def _requery_records(wc):
    return [f"results/{wc.study}/revision/records.jsonl"] if REQUERY else []


localrules:
    requery_arxiv,


rule requery_arxiv:
    input:
        queries="results/{study}/queries.json",
        papers="results/{study}/papers.parquet",
        fulltext="results/{study}/fulltext.parquet",
        claims="results/{study}/claims.parquet",
        snapshot=_snapshot_input,
    output:
        queries="results/{study}/revision/queries.json",
        records="results/{study}/revision/records.jsonl",
    params:
        question=lambda wc: config["studies"][wc.study]["question"],
        **SEARCH_PARAMS,
        max_queries=config["tribunal"]["requery_max"],
    log:
        "results/logs/requery_arxiv/{study}.log",
    resources:
        arxiv_api=1,
    conda:
        "../envs/literature.yaml"
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
        bench=_bench_inputs,
        committed=lambda wc: _committed_results(wc),
        devices=_devices_file,
        requery=_requery_records,
    output:
        verdict="results/{study}/verdict.json",
        reviews="results/{study}/tribunal_reviews.parquet",
        verdicts="results/{study}/verdicts.parquet",
        checks="results/{study}/claim_checks_final.parquet",
        answer="results/{study}/answer.json",
        answers="results/{study}/answers.parquet",
    params:
        question=lambda wc: config["studies"][wc.study]["question"],
        suites=lambda wc: config["studies"][wc.study]["suites"],
        verdicts=config["verdicts"],
        tribunal=config["tribunal"],
        embeddings=config["embeddings"],
        keep_threshold=config["screening"]["embedding_threshold"]
        if config["embeddings"]["backend"] != "none"
        else config["screening"]["tfidf_threshold"],
    log:
        "results/logs/tribunal/{study}.log",
    benchmark:
        "results/benchmarks/tribunal/{study}.tsv"
    conda:
        "../envs/literature.yaml"
    script:
        "../scripts/tribunal.py"


# Without the claims stage there is nothing to check; the rest of the workflow still runs.
if "claims" in WAREHOUSE_INPUTS:
    WAREHOUSE_INPUTS["claim_checks"] = lambda wc: expand("results/{study}/claim_checks_final.parquet", study=STUDIES)
    WAREHOUSE_INPUTS["tribunal_reviews"] = lambda wc: expand("results/{study}/tribunal_reviews.parquet", study=STUDIES)
    WAREHOUSE_INPUTS["verdicts"] = lambda wc: expand("results/{study}/verdicts.parquet", study=STUDIES)
    WAREHOUSE_INPUTS["study_frames"] = lambda wc: expand("results/{study}/study_frames.parquet", study=STUDIES)
    WAREHOUSE_INPUTS["answers"] = lambda wc: expand("results/{study}/answers.parquet", study=STUDIES)
