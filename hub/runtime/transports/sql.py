"""The embedded broker: queues in a SQL database (SQLite by default; PostgreSQL works too).

Why not kombu's SQLAlchemy transport: it keeps exchange bindings in the memory of the process
that declared them (a separate producer process routes nowhere), never deletes acknowledged
rows, and loses every unacknowledged message when a worker is killed. Here a delivered message is
*leased* to its consumer: acknowledging deletes it, a requeue or a lease that runs out (the
worker died) makes it available again with its delivery count raised, so poison messages are
recognised the same way as on RabbitMQ quorum queues.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

from hub.errors import TransientError
from hub.runtime.transport import (
    DIRECT,
    EVENTS_EXCHANGE,
    ConsumesInBatches,
    Delivery,
    Outgoing,
    QueueStats,
    Unroutable,
    topic_matches,
)
from hub.store.db import make_engine

metadata = MetaData()
bindings_table = Table(
    "broker_bindings",
    metadata,
    Column("queue", String(200), primary_key=True),
    Column("pattern", String(200), primary_key=True),
)
messages_table = Table(
    "broker_messages",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("queue", String(200), nullable=False, index=True),
    Column("routing_key", String(400), nullable=False),
    Column("message_id", String(200)),
    Column("headers", JSON, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("enqueued_at", Float, nullable=False),
    Column("lease_until", Float),
    Column("lease_owner", String(64)),
    Column("delivery_count", Integer, nullable=False, default=0),
)
consumers_table = Table(
    "broker_consumers",
    metadata,
    Column("owner", String(64), primary_key=True),
    Column("queue", String(200), primary_key=True),
    Column("heartbeat", Float, nullable=False),
)

_retry_db = retry(
    retry=retry_if_exception_type(OperationalError),
    wait=wait_exponential(multiplier=0.05, max=2),
    stop=stop_after_delay(30),
    reraise=True,
)


class SqlTransport(ConsumesInBatches):
    """Broker tables in the database at ``url``; options in the URL query:
    ``lease`` (seconds a delivered message stays with its consumer, renewed while held;
    default 30) and ``poll`` (idle polling interval, default 0.05 s)."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        query = dict(parsed.query)
        self.lease = float(str(query.pop("lease", 30)))
        self.poll = float(str(query.pop("poll", 0.05)))
        self.url = parsed.set(query=query).render_as_string(hide_password=False)
        self.engine = make_engine(self.url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.owner = uuid.uuid4().hex
        self._wakeup = threading.Event()
        self._created = False

    # --- topology ------------------------------------------------------------------------

    def _create(self) -> None:
        if not self._created:
            metadata.create_all(self.engine)
            self._created = True

    @_retry_db
    def setup(self, bindings: Mapping[str, Sequence[str]]) -> None:
        self._create()
        with self.engine.begin() as conn:
            have = {(r.queue, r.pattern) for r in conn.execute(select(bindings_table))}
            for queue, patterns in bindings.items():
                for pattern in {*patterns, ""}:  # "" marks a declared queue with no binding
                    if (queue, pattern) not in have:
                        try:
                            with conn.begin_nested():
                                conn.execute(
                                    insert(bindings_table).values(queue=queue, pattern=pattern)
                                )
                        except IntegrityError:
                            pass

    def declare_queue(self, queue: str, patterns: Sequence[str]) -> None:
        self.setup({queue: patterns})

    def _route(self, conn: Connection, m: Outgoing) -> list[str]:
        rows = conn.execute(select(bindings_table.c.queue, bindings_table.c.pattern)).all()
        if m.exchange == DIRECT:
            return [m.routing_key] if any(q == m.routing_key for q, _ in rows) else []
        if m.exchange != EVENTS_EXCHANGE:
            return []
        return sorted({q for q, p in rows if p and topic_matches(p, m.routing_key)})

    # --- publish -------------------------------------------------------------------------

    def publish(self, messages: Sequence[Outgoing], *, mandatory: bool = False) -> None:
        try:
            self._publish(messages, mandatory)
        except OperationalError as e:
            raise TransientError(f"embedded broker unavailable: {e.orig}") from None
        self._wakeup.set()

    @_retry_db
    def _publish(self, messages: Sequence[Outgoing], mandatory: bool) -> None:
        self._create()
        now = time.time()
        with self.engine.begin() as conn:
            rows: list[dict[str, Any]] = []
            for m in messages:
                targets = self._route(conn, m)
                if not targets and mandatory:
                    raise Unroutable(f"no queue is bound to {m.routing_key!r}")
                rows.extend(
                    {
                        "queue": q,
                        "routing_key": m.routing_key,
                        "message_id": m.message_id,
                        "headers": dict(m.headers),
                        "body": m.body,
                        "enqueued_at": now,
                        "delivery_count": 0,
                    }
                    for q in targets
                )
            if rows:
                conn.execute(insert(messages_table), rows)

    # --- consume -------------------------------------------------------------------------

    def consume_batches(
        self,
        queues: Sequence[str],
        on_batch: Callable[[list[Delivery]], object],
        *,
        prefetch: int,
        max_batch: int,
        stop: threading.Event,
    ) -> None:
        self._create()
        renewer = threading.Thread(
            target=self._renew_leases, args=(queues, stop), daemon=True, name="broker-lease"
        )
        renewer.start()
        held: list[dict[str, Any]] = []
        try:
            while not stop.is_set():
                if not held:
                    try:
                        held = self._lease(queues, prefetch)
                    except OperationalError:
                        time.sleep(0.5)
                        continue
                    if not held:
                        self._wakeup.wait(self.poll)
                        self._wakeup.clear()
                        continue
                take, held = held[: max(1, max_batch)], held[max(1, max_batch) :]
                on_batch([self._delivery(row) for row in take])
        finally:
            self._release([r["id"] for r in held])
            renewer.join(timeout=5)

    @_retry_db
    def _lease(self, queues: Sequence[str], limit: int) -> list[dict[str, Any]]:
        now = time.time()
        m = messages_table
        available = or_(m.c.lease_until.is_(None), m.c.lease_until < now)
        query = select(m).where(m.c.queue.in_(queues), available).order_by(m.c.id).limit(limit)
        if not self.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        with self.engine.begin() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
            if rows:
                conn.execute(
                    update(m)
                    .where(m.c.id.in_([r["id"] for r in rows]))
                    .values(
                        lease_until=now + self.lease,
                        lease_owner=self.owner,
                        delivery_count=m.c.delivery_count + 1,
                    )
                )
        for r in rows:
            r["delivery_count"] += 1
        return rows

    def _delivery(self, row: dict[str, Any]) -> Delivery:
        msg_id = row["id"]

        def ack() -> None:
            self._settle(delete(messages_table), msg_id)

        def requeue() -> None:
            self._settle(update(messages_table).values(lease_until=None, lease_owner=None), msg_id)

        return Delivery(
            queue=row["queue"],
            routing_key=row["routing_key"],
            body=row["body"],
            headers=dict(row["headers"] or {}),
            message_id=row["message_id"],
            delivery_count=row["delivery_count"],
            ack=ack,
            requeue=requeue,
        )

    @_retry_db
    def _settle(self, statement: Any, msg_id: int) -> None:
        m = messages_table
        with self.engine.begin() as conn:
            conn.execute(statement.where(m.c.id == msg_id, m.c.lease_owner == self.owner))

    def _release(self, ids: list[int]) -> None:
        if not ids:
            return
        m = messages_table
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    update(m)
                    .where(m.c.id.in_(ids), m.c.lease_owner == self.owner)
                    .values(
                        lease_until=None, lease_owner=None, delivery_count=m.c.delivery_count - 1
                    )
                )
        except OperationalError:
            pass  # the leases run out by themselves

    def _renew_leases(self, queues: Sequence[str], stop: threading.Event) -> None:
        m, c = messages_table, consumers_table
        while True:
            now = time.time()
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        update(m)
                        .where(m.c.lease_owner == self.owner, m.c.lease_until.is_not(None))
                        .values(lease_until=now + self.lease)
                    )
                    conn.execute(delete(c).where(c.c.owner == self.owner))
                    if not stop.is_set():
                        conn.execute(
                            insert(c),
                            [{"owner": self.owner, "queue": q, "heartbeat": now} for q in queues],
                        )
            except OperationalError:
                pass
            if stop.wait(self.lease / 3):
                with self.engine.begin() as conn:
                    conn.execute(delete(c).where(c.c.owner == self.owner))
                return

    # --- operator views ------------------------------------------------------------------

    def stats(self, queues: Sequence[str]) -> list[QueueStats]:
        self._create()
        now = time.time()
        m, c = messages_table, consumers_table
        leased = (m.c.lease_until.is_not(None)) & (m.c.lease_until >= now)
        with self.engine.connect() as conn:
            out = []
            for q in queues:
                depth, in_flight, oldest = conn.execute(
                    select(
                        func.count().filter(~leased),
                        func.count().filter(leased),
                        func.min(m.c.enqueued_at),
                    ).where(m.c.queue == q)
                ).one()
                consumers = conn.execute(
                    select(func.count()).where(c.c.queue == q, c.c.heartbeat > now - self.lease)
                ).scalar_one()
                out.append(
                    QueueStats(
                        q, depth, consumers, in_flight, now - oldest if oldest is not None else None
                    )
                )
            return out

    def ping(self) -> None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except OperationalError as e:
            raise TransientError(f"embedded broker unavailable: {e.orig}") from None

    def close(self) -> None:
        self.engine.dispose()
