#!/usr/bin/env bash
# One device call: install the carried wheels, record the machine, run the whole workflow with the
# given overlay config (local profile: one GPU job at a time), and pack results/ for the trip back.
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  > "$OUT/pip.log" 2>&1 || { cat "$OUT/pip.log"; exit 1; }
export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH PYTHONUNBUFFERED=1
CFG=${1:?overlay config}; shift
{ date -u +%FT%TZ; git rev-parse HEAD 2>/dev/null; nvidia-smi; lscpu | grep -E "Model name|Flags"; } > "$OUT/machine.txt" 2>&1
start=$(date +%s)
timeout "${RUN_S:-560}" python3 -m snakemake --profile profiles/local --cores 16 --scheduler greedy \
  --configfile config/config.yaml "$CFG" "$@" > "$OUT/workflow.log" 2>&1
echo "snakemake rc=$? after $(( $(date +%s) - start )) s"
tail -5 "$OUT/workflow.log"
tar czf "$OUT/results.tgz" --exclude='results/bench/cache' --exclude='results/cache' --exclude='*.onnx' results
ls -la "$OUT"
