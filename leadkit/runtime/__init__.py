"""The hand-written run time that generated clients import: small, no codegen dependencies."""

from .api import ApiDescription, ApiKeyAuth, Dedupe, OperationSpec, RateLimitPolicy, Window
from .client import DEFAULT_TIMEOUT, ApiResponse, BaseClient
from .converters import RequestValidationError, build_converters, validate_request
from .unset import UNSET, Unset

__all__ = [
    "DEFAULT_TIMEOUT",
    "UNSET",
    "ApiDescription",
    "ApiKeyAuth",
    "ApiResponse",
    "BaseClient",
    "Dedupe",
    "OperationSpec",
    "RateLimitPolicy",
    "RequestValidationError",
    "Unset",
    "Window",
    "build_converters",
    "validate_request",
]
