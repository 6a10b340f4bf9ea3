"""Generated API packages. Do not edit: run `python -m codegen`."""
