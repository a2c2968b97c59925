from sovereign.literature.search import search_arxiv
from sovereign.smk import run_stage

p = snakemake.params  # noqa: F821 - provided by Snakemake
run_stage(snakemake, search_arxiv, study=snakemake.wildcards.study, query=p.query,  # noqa: F821
          output=snakemake.output[0], source=p.source, snapshot_path=p.snapshot_path,  # noqa: F821
          max_results=p.max_results, arxiv_cfg=dict(p.arxiv or {}), live_attempt=p.live_attempt)
