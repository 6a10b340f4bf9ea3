"""The hand-written run time that generated clients import: small, no codegen dependencies."""

from .api import ApiDescription, ApiKeyAuth, Dedupe, OperationSpec, RateLimitPolicy, Window
from .client import DEFAULT_TIMEOUT, ApiResponse, BaseClient
from .converters import build_converters
from .errors import AlreadyExistsError, APIError, OutcomeUnknownError, RequestValidationError
from .events import (
    Event,
    EventHook,
    RateLimitLearned,
    RateLimitWait,
    RequestFailed,
    RequestSent,
    ResponseReceived,
    RetryScheduled,
)
from .learning import LearnedWindow
from .options import RetryOption, TimeoutOption
from .ratelimit import RateLimiter, RateLimiterView
from .request_bodies import validate_request
from .retry import DEFAULT_RETRY, RetryPolicy
from .unset import UNSET, Unset

__all__ = [
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "UNSET",
    "APIError",
    "AlreadyExistsError",
    "ApiDescription",
    "ApiKeyAuth",
    "ApiResponse",
    "BaseClient",
    "Dedupe",
    "Event",
    "EventHook",
    "LearnedWindow",
    "OperationSpec",
    "OutcomeUnknownError",
    "RateLimitLearned",
    "RateLimitPolicy",
    "RateLimitWait",
    "RateLimiter",
    "RateLimiterView",
    "RequestFailed",
    "RequestSent",
    "RequestValidationError",
    "ResponseReceived",
    "RetryOption",
    "RetryPolicy",
    "RetryScheduled",
    "TimeoutOption",
    "Unset",
    "Window",
    "build_converters",
    "validate_request",
]
