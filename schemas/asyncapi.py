"""The contract as an AsyncAPI 3.0 document, generated from the event models.

- Channels: one per event type on RabbitMQ (routing key of the ``hub.events`` topic exchange)
  and one per event type on Kafka (the topic named as the type).
- Messages: one per event type, its payload the structured CloudEvent's JSON Schema (the same
  schema as ``schemas/json/<type>.json``; shared definitions under ``components.schemas``).
- Operations: the hub receives the inbound types and sends the outbound ones, on both brokers.

``python -m schemas.generate`` writes it to ``schemas/asyncapi.json``; a test checks that the
file has not drifted from the models and validates it against the AsyncAPI 3.0 JSON Schema.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from schemas.envelope import CONTENT_TYPE
from schemas.events import EVENT_DATA, INBOUND
from schemas.registry import EVENT_MODELS

VERSION = "1.0.0"
EXCHANGE = "hub.events"
_REF = re.compile(r"^#/\$defs/(.+)$")


def _id(event_type: str) -> str:
    """``finance.agreement.pending`` -> ``financeAgreementPending`` (AsyncAPI keys are
    ``^[\\w\\d.\\-_]+$``; camelCase reads best in generated code)."""
    words = re.split(r"[.\-_]", event_type)
    return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])


def _payload(event_type: str, shared: dict[str, Any]) -> dict[str, Any]:
    """The event's JSON Schema, its ``$defs`` moved to ``components.schemas`` (an embedded
    schema's references resolve against the whole document)."""
    schema = copy.deepcopy(EVENT_MODELS[event_type].model_json_schema())
    defs = schema.pop("$defs", {})
    renames: dict[str, str] = {}
    for name, definition in defs.items():
        key = name
        if key in shared and shared[key] != definition:
            key = f"{_id(event_type)}{name}"
        renames[name] = key
    for name, definition in defs.items():
        shared[renames[name]] = _relink(definition, renames)
    payload = _relink(schema, renames)
    payload["$id"] = f"urn:hub:schema:{event_type}"
    return payload


def _relink(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            match = _REF.match(v) if k == "$ref" and isinstance(v, str) else None
            out[k] = f"#/components/schemas/{renames[match.group(1)]}" if match else _relink(v, renames)
        return out
    if isinstance(node, list):
        return [_relink(v, renames) for v in node]
    return node


def document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the hub's public contract."""
    shared: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for event_type in sorted(EVENT_DATA):
        mid = _id(event_type)
        direction = "receive" if event_type in INBOUND else "send"
        messages[mid] = {
            "name": event_type,
            "title": event_type,
            "summary": (
                f"{event_type}, " + ("inbound to the hub" if direction == "receive" else "emitted by the hub")
            ),
            "contentType": CONTENT_TYPE,
            "payload": _payload(event_type, shared),
            "correlationId": {"$ref": "#/components/correlationIds/chain"},
            "bindings": {
                "amqp": {"contentEncoding": "utf-8", "messageType": event_type, "bindingVersion": "0.3.0"},
            },
        }
        for broker in ("amqp", "kafka"):
            cid = f"{broker}.{event_type}"
            channel: dict[str, Any] = {
                "address": event_type,
                "title": f"{event_type} on {'RabbitMQ' if broker == 'amqp' else 'Kafka'}",
                "servers": [{"$ref": f"#/servers/{'rabbitmq' if broker == 'amqp' else 'kafka'}"}],
                "messages": {mid: {"$ref": f"#/components/messages/{mid}"}},
            }
            if broker == "amqp":
                channel["description"] = (
                    f"Routing key {event_type!r} on the durable topic exchange {EXCHANGE!r}."
                )
                channel["bindings"] = {
                    "amqp": {
                        "is": "routingKey",
                        "exchange": {
                            "name": EXCHANGE,
                            "type": "topic",
                            "durable": True,
                            "autoDelete": False,
                            "vhost": "/",
                        },
                        "bindingVersion": "0.3.0",
                    }
                }
            else:
                channel["description"] = f"Topic {event_type!r}; record key = the event subject."
                channel["bindings"] = {"kafka": {"topic": event_type, "bindingVersion": "0.5.0"}}
            channels[cid] = channel
            operations[f"{direction}.{broker}.{event_type}"] = {
                "action": direction,
                "title": f"The hub {direction}s {event_type}",
                "channel": {"$ref": f"#/channels/{cid}"},
                "messages": [{"$ref": f"#/channels/{cid}/messages/{mid}"}],
                **(
                    {"bindings": {"amqp": {"deliveryMode": 2, "mandatory": False, "ack": True, "bindingVersion": "0.3.0"}}}
                    if broker == "amqp"
                    else {}
                ),
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "ERP integration hub",
            "version": VERSION,
            "description": (
                "CloudEvents 1.0 in structured JSON mode (binary content mode is accepted too, "
                "as the CloudEvents AMQP and Kafka bindings define it). Every event carries the "
                "extensions tenantid, idempotencykey, correlationid and causationid."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "rabbitmq": {
                "host": "127.0.0.1:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "pathname": "/",
                "description": "RabbitMQ (one node or a cluster; quorum queues).",
            },
            "kafka": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "Kafka: one topic per event type.",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": dict(sorted(shared.items())),
            "correlationIds": {
                "chain": {
                    "description": "The chain's correlation id, copied forward to every effect.",
                    "location": "$message.payload#/correlationid",
                }
            },
        },
    }
