from sovereign.literature.screen import screen_papers
from sovereign.smk import run_stage

p = snakemake.params  # noqa: F821 - provided by Snakemake
run_stage(snakemake, screen_papers, study=snakemake.wildcards.study, question=p.question,  # noqa: F821
          search_paths=list(snakemake.input.search), out_papers=snakemake.output.papers,  # noqa: F821
          out_summary=snakemake.output.summary, thresholds=dict(p.thresholds),  # noqa: F821
          embed_cfg=dict(p.embeddings), pinned=list(p.pinned))
