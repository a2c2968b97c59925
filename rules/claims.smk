# Claims: extract_claims (structured claims from abstracts and full text) -> ground_claims
import os


def _vocab_file(wc):
    path = config["claims"]["vocab_path"]
    return path or os.path.join(workflow.basedir, "config", "vocab.yaml")


rule extract_claims:
    input:
        papers="results/{study}/papers.parquet",
        fulltext="results/{study}/fulltext.parquet",
        vocab=_vocab_file,
    output:
        "results/{study}/claims.parquet",
    params:
        claims=config["claims"],
    log:
        "results/logs/extract_claims/{study}.log",
    benchmark:
        "results/benchmarks/extract_claims/{study}.tsv"
    conda:
        "../envs/literature.yaml"
    script:
        "../scripts/extract_claims.py"


rule ground_claims:
    input:
        claims="results/{study}/claims.parquet",
        papers="results/{study}/papers.parquet",
        fulltext="results/{study}/fulltext.parquet",
    output:
        "results/{study}/claim_support.parquet",
    params:
        claims=config["claims"],
        embeddings=config["embeddings"],
    log:
        "results/logs/ground_claims/{study}.log",
    benchmark:
        "results/benchmarks/ground_claims/{study}.tsv"
    conda:
        "../envs/literature.yaml"
    script:
        "../scripts/ground_claims.py"


WAREHOUSE_INPUTS["claims"] = lambda wc: expand("results/{study}/claims.parquet", study=STUDIES)
WAREHOUSE_INPUTS["claim_support"] = lambda wc: expand("results/{study}/claim_support.parquet", study=STUDIES)
