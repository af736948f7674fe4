"""What a batch's transaction reads once for all its messages, and writes at its end.

The processor runs a batch of messages in one session. Before their handlers run, each consumer
may read the rows those messages will look up, in one query per table (``preload``); a handler
then finds them with ``find``, which asks the store only for a key nobody read ahead. A row a
handler adds is put with ``keep``, so a later message of the same batch finds it without a
query. Handlers do not flush in a batch (``flush`` does nothing there): the session writes every
pending row at the commit, one multi-row INSERT per table. A query that does reach the store
flushes the pending rows first (the session's autoflush), so it sees what earlier messages of
the batch wrote.

Outside a batch (``read_ahead`` not called), ``find`` is ``Session.get``, ``keep`` is
``Session.add`` and ``flush`` is ``Session.flush``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import inspect, select, tuple_
from sqlalchemy.orm import Session

T = TypeVar("T")

#: ``session.info`` key of the rows read ahead: ``{(model, key): row or None}``.
KNOWN = "hub.known"
#: Keys per query in ``preload``: a bound on the statement's size.
CHUNK = 500


def read_ahead(session: Session) -> None:
    """From now on, ``session`` serves a batch: rows read ahead are kept, handlers do not flush."""
    session.info[KNOWN] = {}


def batching(session: Session) -> bool:
    return KNOWN in session.info


def flush(session: Session) -> None:
    """Flush now, except in a batch: there the commit writes every table once."""
    if not batching(session):
        session.flush()


def preload(
    session: Session, model: type[T], keys: Iterable[tuple[Any, ...]], *, for_update: bool = False
) -> None:
    """Read the ``model`` rows of ``keys`` (primary keys) in one query, and remember which keys
    have none. ``for_update`` locks the rows found, as ``find(..., for_update=True)`` would. Does
    nothing outside a batch."""
    known: dict[tuple[type[Any], tuple[Any, ...]], Any] | None = session.info.get(KNOWN)
    if known is None:
        return
    wanted = sorted({k for k in keys if (model, k) not in known})
    if not wanted:
        return
    columns = inspect(model).primary_key
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        query = select(model).where(tuple_(*columns).in_(chunk))
        if for_update:
            query = query.with_for_update()
        for key in chunk:
            known[(model, key)] = None
        for row in session.scalars(query):
            identity = inspect(row).identity
            assert identity is not None
            known[(model, tuple(identity))] = row


def find(
    session: Session, model: type[T], key: tuple[Any, ...], *, for_update: bool = False
) -> T | None:
    """The ``model`` row with primary key ``key``: from what the batch read ahead or kept, else
    from the store."""
    known: dict[tuple[type[Any], tuple[Any, ...]], Any] | None = session.info.get(KNOWN)
    if known is not None and (model, key) in known:
        found: T | None = known[(model, key)]
        return found
    return session.get(model, key, with_for_update=for_update or None)


def keep(session: Session, model: type[T], key: tuple[Any, ...], row: T) -> None:
    """Add the new ``row`` (primary key ``key``): a later ``find`` in the batch returns it."""
    session.add(row)
    known: dict[tuple[type[Any], tuple[Any, ...]], Any] | None = session.info.get(KNOWN)
    if known is not None:
        known[(model, key)] = row
