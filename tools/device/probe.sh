#!/usr/bin/env bash
# One device call: install carried wheels, record the machine, dry-run then run the workflow.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl > $OUT/pip.log 2>&1 || { cat $OUT/pip.log; exit 1; }
export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH PYTHONUNBUFFERED=1
nvidia-smi > $OUT/nvidia-smi.txt 2>&1
python3 -c 'import torch, snakemake, duckdb, arxiv, altair; print(torch.__version__, torch.cuda.get_device_name(0), snakemake.__version__, duckdb.__version__)' 2>&1 | tee $OUT/versions.txt
CFG=${1:-tools/device/probe.yaml}; shift || true
python3 -m snakemake --cores 16 --configfile config/config.yaml $CFG --scheduler greedy -n --quiet rules 2>&1 | tail -40 | tee $OUT/dryrun.txt
timeout ${RUN_S:-400} python3 -m snakemake --cores 16 --configfile config/config.yaml $CFG --scheduler greedy --keep-going --until load_warehouse "$@" > $OUT/run.log 2>&1; echo "snakemake rc=$?"
tail -30 $OUT/run.log
tar czf $OUT/results.tgz results --exclude results/bench/cache --exclude results/cache 2>/dev/null; ls -la $OUT
