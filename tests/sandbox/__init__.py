"""The local sandbox (leadkit/sandbox)."""
