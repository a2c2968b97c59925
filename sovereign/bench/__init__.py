"""Benchmark harness: backends behind one interface, a latency tracker, rows for `bench_results`.

Importing this package pulls in nothing heavy: torch, onnxruntime, TensorRT and NVML are
imported lazily by the modules that need them, so it runs on GPU hosts without the rest
of the stack (no duckdb, snakemake or altair needed).
"""
