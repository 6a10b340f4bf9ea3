"""The run time of the generated clients (leadkit/runtime)."""
