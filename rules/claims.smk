# Claims: extract_claims (structured claims from abstracts and full text) -> ground_claims
import os

VOCAB_FILE = config["claims"]["vocab_path"] or os.path.join(workflow.basedir, "config", "vocab.yaml")


# Each rule gets only the keys it uses, so changing a grounding threshold never reruns extraction.
EXTRACT_KEYS = (
    "vocab_path",
    "use_full_text",
    "kept_only",
    "tables",
    "backend",
    "endpoint",
    "model",
    "timeout_s",
    "retries",
    "api_key_env",
)
GROUND_KEYS = ("min_support", "agree_tolerance", "use_embeddings")


rule extract_claims:
    input:
        papers="results/{study}/papers.parquet",
        fulltext="results/{study}/fulltext.parquet",
        vocab=VOCAB_FILE,
    output:
        "results/{study}/claims.parquet",
    log:
        "results/logs/extract_claims/{study}.log",
    benchmark:
        "results/benchmarks/extract_claims/{study}.tsv"
    conda:
        "../envs/literature.yaml"
    params:
        claims={k: config["claims"][k] for k in EXTRACT_KEYS},
        # tables are read from the PDFs fetch_fulltext cached there (its output is this rule's input)
        pdf_dir=config["literature"]["fulltext"]["cache_dir"],
    script:
        "../scripts/extract_claims.py"


rule ground_claims:
    input:
        claims="results/{study}/claims.parquet",
        papers="results/{study}/papers.parquet",
        fulltext="results/{study}/fulltext.parquet",
    output:
        "results/{study}/claim_support.parquet",
    log:
        "results/logs/ground_claims/{study}.log",
    benchmark:
        "results/benchmarks/ground_claims/{study}.tsv"
    conda:
        "../envs/literature.yaml"
    params:
        claims={k: config["claims"][k] for k in GROUND_KEYS},
        embeddings=config["embeddings"],
    script:
        "../scripts/ground_claims.py"


WAREHOUSE_INPUTS["claims"] = lambda wc: expand("results/{study}/claims.parquet", study=STUDIES)
WAREHOUSE_INPUTS["claim_support"] = lambda wc: expand("results/{study}/claim_support.parquet", study=STUDIES)
