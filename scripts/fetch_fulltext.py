from sovereign.literature.fulltext import fetch_fulltext
from sovereign.smk import run_stage

p = snakemake.params  # noqa: F821 - provided by Snakemake
run_stage(snakemake, fetch_fulltext, papers_path=snakemake.input.papers,  # noqa: F821
          output=snakemake.output[0], snapshot_path=p.snapshot_path, cfg=dict(p.fulltext))  # noqa: F821
