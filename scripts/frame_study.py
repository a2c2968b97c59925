from sovereign.smk import run_stage
from sovereign.verdicts.pinned import frame_pinned_or_asked

i, o, p = snakemake.input, snakemake.output, snakemake.params  # noqa: F821 - provided by Snakemake
run_stage(snakemake, frame_pinned_or_asked, study=snakemake.wildcards.study, question=p.question,  # noqa: F821
          from_claims=p.from_claims, papers=list(p.papers),
          claims_path=i.claims, papers_path=i.papers, out_frame=o.frame, out_claims=o.claims, out_rows=o.rows,
          vocab_path=i.vocab, fulltext_path=i.fulltext, min_share=p.min_share, devices_file=i.devices)
