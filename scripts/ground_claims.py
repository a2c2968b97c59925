from sovereign.claims.ground import ground_claims
from sovereign.smk import run_stage

p = snakemake.params  # noqa: F821 - provided by Snakemake
run_stage(snakemake, ground_claims, study=snakemake.wildcards.study, claims_path=snakemake.input.claims,  # noqa: F821
          papers_path=snakemake.input.papers, fulltext_path=snakemake.input.fulltext,  # noqa: F821
          output=snakemake.output[0], cfg=dict(p.claims), embed_cfg=dict(p.embeddings))  # noqa: F821
