"""The leadkit commands (leadkit/commands): load, sandbox."""
