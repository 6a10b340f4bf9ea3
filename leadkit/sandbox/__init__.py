"""A local sandbox of every generated API, built from its spec, with seeded fault injection.

``async with Sandbox(SandboxConfig(...)) as sb:`` serves each API at ``sb.base_url(name)``
on 127.0.0.1, as its spec and its ``x-sandbox`` extension describe it: it stores what is
created (in memory or SQLite), enforces the specs' rate limits and injects the faults of
``FaultConfig``.
"""

from .config import FaultConfig, SandboxConfig
from .server import Sandbox, running_in_thread
from .storage import StorageError

__all__ = ["FaultConfig", "Sandbox", "SandboxConfig", "StorageError", "running_in_thread"]
