"""The benchmark harness (bench/)."""
