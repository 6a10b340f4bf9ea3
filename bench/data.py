"""What every scenario sends and answers: generated lead rows and a fixed LeadResponse."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

__all__ = [
    "API_KEY",
    "CAMPAIGN_ID",
    "LEAD_PATH",
    "LEAD_RESPONSE",
    "LEAD_RESPONSE_BYTES",
    "lead_rows",
]

API_KEY = "cs_live_bench"
CAMPAIGN_ID = "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"
LEAD_PATH = f"/api/public/v1/campaigns/{CAMPAIGN_ID}/leads/manual"

LEAD_RESPONSE: dict[str, Any] = {
    "lead_id": "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
    "batch_id": None,
    "email": "ada@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "company": "Analytical Engines",
    "status": "PENDING",
    "last_contacted_at": None,
    "opened_at": None,
    "replied_at": None,
    "created_at": "2025-01-02T03:04:05+02:00",
    "custom_fields": {"source": "bench"},
    "sequence_step": 0,
    "email_opened": False,
    "email_replied": False,
    "unsubscribed": False,
}
"""A valid Coldsend LeadResponse with every field set."""

LEAD_RESPONSE_BYTES = json.dumps(LEAD_RESPONSE, separators=(",", ":")).encode()


def lead_rows(n: int) -> Iterator[dict[str, Any]]:
    """`n` distinct ManualLeadRequest bodies (wire names), made lazily."""
    for i in range(n):
        yield {
            "email": f"lead{i}@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "company": "Analytical Engines",
        }
