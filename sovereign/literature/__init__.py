"""Literature stage: plan queries, search arXiv or the offline corpus, fetch text, screen."""
