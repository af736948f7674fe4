"""A producer resends what the broker did not confirm (a node lost mid-publish): the same invalid
bytes arrive again as a new message, and the dead-letter store keeps them once."""

from __future__ import annotations

import uuid
from pathlib import Path

from hub.runtime.transport import EVENTS_EXCHANGE, Outgoing
from hub.settings import Settings
from tests.support import ledger
from tests.support.harness import running_hub, wait_until


def test_the_same_invalid_message_sent_twice_is_dead_lettered_once(tmp_path: Path) -> None:
    settings = Settings(
        broker_url=f"memory://{uuid.uuid4().hex}",
        database_url=f"sqlite:///{tmp_path / 'hub.sqlite'}",
    )
    invalid = Outgoing(EVENTS_EXCHANGE, ledger.ITEM, b"{not json, resent", "invalid-resent-1")
    other = Outgoing(EVENTS_EXCHANGE, ledger.ITEM, b"{not json, another", "invalid-other-1")
    with running_hub(settings) as hub:
        hub.hub.transport.publish([invalid])
        hub.hub.transport.publish([invalid, other])  # the resend, and a different invalid one
        wait_until(
            lambda: hub.hub.observer.count("dead-lettered") == 3, what="three deliveries settled"
        )
        bodies = sorted(bytes(dl.body) for dl in hub.dead_letters())
    assert bodies == [b"{not json, another", b"{not json, resent"]
