"""The `llm` benchmark suite: whole transformer models with random weights, measured the way serving benchmarks measure."""
