from sovereign.smk import run_stage
from sovereign.verdicts.check import check_claims

i, p = snakemake.input, snakemake.params  # noqa: F821 - provided by Snakemake
run_stage(snakemake, check_claims, study=snakemake.wildcards.study, claims_path=i.claims,  # noqa: F821
          support_path=i.support, bench_paths=list(i.bench), out=snakemake.output[0], suites=list(p.suites),  # noqa: F821
          cfg={**dict(p.verdicts), "devices_file": i.devices}, contradiction_factor=p.contradiction_factor,
          reference_paths=list(i.reference))
