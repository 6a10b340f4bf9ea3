"""The bulk loader (leadkit/bulk)."""
