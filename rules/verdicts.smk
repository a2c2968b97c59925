# Verdicts: check_claims (claims against measurements, hardware plausibility) -> tribunal (per study).
# Both need the claims stage; benchmark rows come from whatever the bench stages registered.
import os


DEVICES_FILE = config["verdicts"]["devices_file"] or os.path.join(workflow.basedir, "config", "devices.yaml")
# Looked up when the DAG is built, after every stage has registered its files.
BENCH_INPUTS = lambda wc: WAREHOUSE_INPUTS["bench_results"](wc) if "bench_results" in WAREHOUSE_INPUTS else []


rule check_claims:
    input:
        claims="results/{study}/claims.parquet",
        support="results/{study}/claim_support.parquet",
        bench=BENCH_INPUTS,
        devices=DEVICES_FILE,
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
        papers="results/{study}/papers.parquet",
        fulltext="results/{study}/fulltext.parquet",
        claims="results/{study}/claims.parquet",
        support="results/{study}/claim_support.parquet",
        checks="results/{study}/claim_checks.parquet",
        bench=BENCH_INPUTS,
        committed=lambda wc: COMMITTED_RESULTS,  # set by rules/warehouse.smk, included later
        devices=DEVICES_FILE,
        requery=["results/{study}/revision/records.jsonl"] if REQUERY else [],
    output:
        verdict="results/{study}/verdict.json",
        reviews="results/{study}/tribunal_reviews.parquet",
        verdicts="results/{study}/verdicts.parquet",
        checks="results/{study}/claim_checks_final.parquet",
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
