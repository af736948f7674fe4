"""A request taken at the desk (``hub tickets open`` on an educational ticket type) is the very
event the educational module would publish, ``edu.request.created``, so that it meets the same
rules as any other request: eligibility, options from the student's data, the charge and the
e-mail. ``request_event`` builds and validates that event."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hub.workflow.config import WorkflowConfig
from hub.workflow.errors import WorkflowError
from schemas import CloudEvent, decode

SOURCE = "urn:hub:desk"
PORTAL_SOURCE = "urn:hub:portal"
REQUEST_CREATED = "edu.request.created"


def request_event(
    config: WorkflowConfig,
    type_id: str,
    *,
    ra: str | None,
    name: str | None,
    email: str | None,
    academic_period: str | None,
    parameters: Mapping[str, Any],
    now: datetime,
    company: str | None = None,
    branch: str | None = None,
    delivery_location: str | None = None,
    request_id: str | None = None,
    tenant: str = "default",
    source: str = SOURCE,
    subject: str | None = None,
    description: str | None = None,
) -> CloudEvent:
    """The ``edu.request.created`` event of a request for ``type_id`` by student ``ra``.

    Company and branch default to those of the delivery location, which defaults to the
    type's. Raises ``WorkflowError`` naming what is missing, ``InvalidMessage`` when the event
    would break its schema."""
    tt = config.ticket_type(type_id)
    place_id = delivery_location or tt.delivery_location
    place = config.delivery_locations.get(place_id or "")
    company = company or (place.company if place else None)
    branch = branch or (place.branch if place else None)
    needed = {
        "--customer (the student's RA)": ra,
        "--name (the student's name)": name,
        "--period (the academic period)": academic_period,
        "--company": company,
        "--branch": branch,
        "--delivery-location": place_id,
    }
    missing = [what for what, value in needed.items() if not value]
    if missing:
        raise WorkflowError(f"{type_id!r} is an educational request: it needs {', '.join(missing)}")
    rid = request_id or ("PORTAL-" if source == PORTAL_SOURCE else "DESK-") + uuid.uuid4().hex[:12]
    return decode(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": source,
            "type": REQUEST_CREATED,
            "time": now.isoformat(),
            "datacontenttype": "application/json",
            "subject": rid,
            "tenantid": tenant,
            "data": {
                "request_id": rid,
                "ticket_type": type_id,
                "student": {"ra": ra, "name": name, **({"email": email} if email else {})},
                "company": company,
                "branch": branch,
                "academic_period": academic_period,
                "delivery_location": place_id,
                "parameters": dict(parameters),
                "requested_at": now.isoformat(),
                **({"subject": subject} if subject else {}),
                **({"description": description} if description else {}),
            },
        }
    )
