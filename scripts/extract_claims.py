from sovereign.claims.extract import extract_claims
from sovereign.smk import run_stage

run_stage(snakemake, extract_claims, study=snakemake.wildcards.study,  # noqa: F821 - provided by Snakemake
          papers_path=snakemake.input.papers, fulltext_path=snakemake.input.fulltext,  # noqa: F821
          output=snakemake.output[0], cfg={**snakemake.params.claims, "vocab_path": snakemake.input.vocab},  # noqa: F821
          pdf_dir=snakemake.params.pdf_dir)  # noqa: F821
