from sovereign.smk import run_stage
from sovereign.verdicts.requery import requery_arxiv

i, o, p = snakemake.input, snakemake.output, snakemake.params  # noqa: F821 - provided by Snakemake
run_stage(snakemake, requery_arxiv, study=snakemake.wildcards.study, question=p.question,  # noqa: F821
          queries_path=i.queries, papers_path=i.papers, claims_path=i.claims, fulltext_path=i.fulltext,
          out_queries=o.queries, out_records=o.records, source=p.source, snapshot_path=p.snapshot_path,
          max_results=p.max_results, arxiv_cfg=dict(p.arxiv or {}), max_queries=p.max_queries,
          live_attempt=p.live_attempt)
