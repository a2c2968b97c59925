from sovereign.literature.fulltext import fetch_fulltext
from sovereign.smk import run_stage

# the corpus is read only when it is a declared input (sources snapshot and auto)
snapshot = list(snakemake.input.snapshot)  # noqa: F821 - provided by Snakemake
run_stage(snakemake, fetch_fulltext, papers_path=snakemake.input.papers,  # noqa: F821
          output=snakemake.output[0], snapshot_path=snapshot[0] if snapshot else None,  # noqa: F821
          cfg=dict(snakemake.params.fulltext))  # noqa: F821
