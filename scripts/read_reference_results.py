from sovereign.smk import run_stage
from sovereign.verdicts.reference import write_reference

run_stage(snakemake, write_reference, paths=list(snakemake.params.files), out=snakemake.output[0])  # noqa: F821
