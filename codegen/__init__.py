"""The generator: OpenAPI specs in, attrs models and async aiohttp clients out."""
