from sovereign.smk import run_stage
from sovereign.verdicts.tribunal import run_tribunal

i, o, p = snakemake.input, snakemake.output, snakemake.params  # noqa: F821 - provided by Snakemake
run_stage(snakemake, run_tribunal, study=snakemake.wildcards.study, question=p.question,  # noqa: F821
          screening_path=i.screening, papers_path=i.papers, claims_path=i.claims, checks_path=i.checks,
          bench_paths=list(i.bench), suites=list(p.suites), out_json=o.verdict, out_reviews=o.reviews,
          out_verdicts=o.verdicts, out_checks=o.checks,
          frame_path=i.frame, out_answer=o.answer, out_answers=o.answers, support_path=i.support, fulltext_path=i.fulltext,
          verdicts_cfg={**dict(p.verdicts), "devices_file": i.devices}, tribunal_cfg=dict(p.tribunal),
          embed_cfg=dict(p.embeddings), keep_threshold=p.keep_threshold,
          reference_paths=list(i.reference), requery_path=i.requery[0] if i.requery else None,
          claims_cfg=dict(p.claims))
