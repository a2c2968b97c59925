from sovereign.io import write_json
from sovereign.literature.queries import plan_queries
from sovereign.smk import run_stage

p, study = snakemake.params, snakemake.wildcards.study  # noqa: F821 - provided by Snakemake
run_stage(snakemake, lambda: write_json(snakemake.output[0], [  # noqa: F821
    {"study": study, **q} for q in plan_queries(p.question, p.queries, p.min_queries, p.expansions, p.papers)]))
