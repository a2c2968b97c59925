"""Claims stage: structured claims from paper text (extract) and their grounding in the source (ground)."""
