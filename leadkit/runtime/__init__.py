"""The hand-written run time that generated clients import: small, no codegen dependencies."""

from .api import (
    ApiDescription,
    ApiKeyAuth,
    Dedupe,
    FormPart,
    OperationSpec,
    RateLimitPolicy,
    Window,
)
from .client import DEFAULT_TIMEOUT, ApiResponse, BaseClient
from .converters import build_converters
from .errors import (
    AlreadyExistsError,
    APIError,
    BodyNotReplayableError,
    JobFailedError,
    JobTimeoutError,
    OutcomeUnknownError,
    RequestValidationError,
)
from .events import (
    Event,
    EventHook,
    JobPolled,
    JobWaitStopped,
    RateLimitLearned,
    RateLimitWait,
    RequestFailed,
    RequestSent,
    ResponseReceived,
    RetryScheduled,
)
from .learning import LearnedWindow
from .multipart import FileContent, FilePart
from .options import RetryOption, TimeoutOption
from .polling import DEFAULT_POLLING, Job, Poll, PollPolicy, ProgressHook, Upload, UploadCounts
from .ratelimit import RateLimiter, RateLimiterView, Wait, WaitKind
from .request_bodies import validate_request
from .retry import DEFAULT_RETRY, RetryPolicy
from .unset import UNSET, Unset

__all__ = [
    "DEFAULT_POLLING",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "UNSET",
    "APIError",
    "AlreadyExistsError",
    "ApiDescription",
    "ApiKeyAuth",
    "ApiResponse",
    "BaseClient",
    "BodyNotReplayableError",
    "Dedupe",
    "Event",
    "EventHook",
    "FileContent",
    "FilePart",
    "FormPart",
    "Job",
    "JobFailedError",
    "JobPolled",
    "JobTimeoutError",
    "JobWaitStopped",
    "LearnedWindow",
    "OperationSpec",
    "OutcomeUnknownError",
    "Poll",
    "PollPolicy",
    "ProgressHook",
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
    "Upload",
    "UploadCounts",
    "Wait",
    "WaitKind",
    "Window",
    "build_converters",
    "validate_request",
]
