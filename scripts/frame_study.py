from sovereign.smk import run_stage
from sovereign.verdicts.frame import frame_study

i, o, p = snakemake.input, snakemake.output, snakemake.params  # noqa: F821 - provided by Snakemake
question = p.question
if p.from_claims:  # pinned to papers without a question: ask what their claims are about
    from sovereign.claims.vocab import load_vocab
    from sovereign.io import read_table
    from sovereign.verdicts.pinned import question_from_claims

    question = question_from_claims(read_table(i.claims), load_vocab(i.vocab), p.papers)
run_stage(snakemake, frame_study, study=snakemake.wildcards.study, question=question,  # noqa: F821
          claims_path=i.claims, papers_path=i.papers, out_frame=o.frame, out_claims=o.claims, out_rows=o.rows,
          vocab_path=i.vocab, fulltext_path=i.fulltext, min_share=p.min_share, devices_file=i.devices)
