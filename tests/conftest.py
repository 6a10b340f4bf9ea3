"""Shared pytest fixtures. Every server a test talks to is a real aiohttp app on 127.0.0.1."""
