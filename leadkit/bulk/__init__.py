"""Bulk create: stream a large input into a create operation, pacing, resuming, losing nothing."""

from .columns import ColumnOptions, ColumnPlan, RequestFields, header_key
from .inputs import InputFile, InputFileError, InputRow, input_fields, open_input, request_fields
from .journal import JournalError
from .ledger import IN_FLIGHT_REASON, IN_FLIGHT_RESENT_REASON, NOT_SENT_REASON
from .results import Outcome, RowResult, Summary
from .runner import BulkRun, bulk_create
from .uploads import UPLOAD_POLLING, UploadRun, bulk_upload

__all__ = [
    "IN_FLIGHT_REASON",
    "IN_FLIGHT_RESENT_REASON",
    "NOT_SENT_REASON",
    "UPLOAD_POLLING",
    "BulkRun",
    "ColumnOptions",
    "ColumnPlan",
    "InputFile",
    "InputFileError",
    "InputRow",
    "JournalError",
    "Outcome",
    "RequestFields",
    "RowResult",
    "Summary",
    "UploadRun",
    "bulk_create",
    "bulk_upload",
    "header_key",
    "input_fields",
    "open_input",
    "request_fields",
]
