"""Subcommands of the `sovereign` console script, one module each."""
