"""The generator (codegen/): reading specs, rendering, diff."""
