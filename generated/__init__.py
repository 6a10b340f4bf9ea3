"""Generated API packages, `leadkit.apis.<api>`. Do not edit: run `python -m leadkit.codegen`."""
