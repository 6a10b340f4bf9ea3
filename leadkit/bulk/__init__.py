"""Bulk create: stream a large input into a create operation, pacing, resuming, losing nothing."""

from .inputs import InputFileError, InputRow, open_input, request_fields
from .journal import JournalError
from .results import Outcome, RowResult, Summary
from .runner import (
    IN_FLIGHT_REASON,
    IN_FLIGHT_RESENT_REASON,
    NOT_SENT_REASON,
    BulkRun,
    bulk_create,
)

__all__ = [
    "IN_FLIGHT_REASON",
    "IN_FLIGHT_RESENT_REASON",
    "NOT_SENT_REASON",
    "BulkRun",
    "InputFileError",
    "InputRow",
    "JournalError",
    "Outcome",
    "RowResult",
    "Summary",
    "bulk_create",
    "open_input",
    "request_fields",
]
