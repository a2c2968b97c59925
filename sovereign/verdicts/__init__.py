"""Verdicts: claims checked against measurements, hardware plausibility, the tribunal."""
