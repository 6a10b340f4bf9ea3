"""Subcommands of the `leadkit` console script, one module each."""
