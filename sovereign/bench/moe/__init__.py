"""The `moe_routing` suite: MoE feed-forward blocks, routing strategies, synthetic VQA workloads, two dispatches.

Run a grid with `sovereign moe` (or `python -m sovereign.bench.moe` on a GPU host without
the workflow's dependencies); the workflow runs it through rules/bench_moe.smk.
"""
