"""Benchmarks of leadkit against its peers and this machine's limit: ``python -m bench``."""

__all__: list[str] = []
