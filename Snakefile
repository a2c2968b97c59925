# sovereign: research question -> queries -> papers -> claims -> benchmarks -> verdict.
# The logic lives in the `sovereign` package; rules only wire files and params.
from snakemake.utils import min_version

min_version("8.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/literature.smk"
include: "rules/claims.smk"
include: "rules/bench.smk"
include: "rules/bench_moe.smk"
include: "rules/bench_llm.smk"
include: "rules/verdicts.smk"
include: "rules/warehouse.smk"


# One closing summary per run (decision, score, the answer's first line, the report) after Snakemake's log.
onsuccess:
    from sovereign.run_summary import run_summary

    print(run_summary(STUDIES), end="")


rule all:
    default_target: True
    input:
        get_final_targets(),
