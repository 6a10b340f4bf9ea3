"""A local sandbox of both APIs, built from their specs, with seeded fault injection.

``async with Sandbox(SandboxConfig(...)) as sb:`` serves Coldsend at ``sb.base_url("coldsend")``
and Breakcold at ``sb.base_url("breakcold")`` on 127.0.0.1, stores leads (in memory or
SQLite), enforces the specs' rate limits and injects the faults of ``FaultConfig``.
"""

from .config import FaultConfig, SandboxConfig
from .server import Sandbox, running_in_thread
from .storage import StorageError

__all__ = ["FaultConfig", "Sandbox", "SandboxConfig", "StorageError", "running_in_thread"]
