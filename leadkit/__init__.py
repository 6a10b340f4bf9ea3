"""leadkit: async clients for lead-creation APIs, generated from OpenAPI specs."""

__all__ = ["__version__"]

__version__ = "0.1.0"
