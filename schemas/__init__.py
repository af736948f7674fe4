"""Event models of the hub's public contract: CloudEvents 1.0 envelope and typed ``data``.

Pure: nothing here touches a broker or a database.
"""

from schemas.decode import decode
from schemas.envelope import CONTENT_TYPE, CloudEvent, new_event_id, utcnow
from schemas.errors import HubError, InvalidMessage, PermanentError, TransientError
from schemas.events import EVENT_DATA, INBOUND, OUTBOUND
from schemas.registry import EVENT_MODELS, json_schemas, model_for

__all__ = [
    "CONTENT_TYPE",
    "EVENT_DATA",
    "EVENT_MODELS",
    "INBOUND",
    "OUTBOUND",
    "CloudEvent",
    "HubError",
    "InvalidMessage",
    "PermanentError",
    "TransientError",
    "decode",
    "json_schemas",
    "model_for",
    "new_event_id",
    "utcnow",
]
