"""``hub dlq``: inspect, replay, edit and purge dead letters, and read their audit.

Every replay, edit and purge is recorded in the dead-letter audit with who did it (``--by``:
the acting user, whose permissions apply). Purging needs ``--yes``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
import typer
from rich.table import Table

from hub.cli.common import (
    BY_OPTION,
    TENANT_OPTION,
    actor_of,
    allow,
    console,
    fail,
    print_json,
    settings,
    tenant_store,
)
from hub.errors import InvalidMessage
from hub.runtime import dlq_audit, dlq_edit
from hub.runtime.deadletters import DeadLetterFilter, DeadLetters, detail, summary
from hub.runtime.uow import UnitOfWorkFactory

app = typer.Typer(help="Inspect, replay, edit and purge dead letters.", no_args_is_help=True)

#: The fastest ``--rate`` a group replay may ask for.
MAX_RATE = 10_000.0
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|second|m|min|minute|h|hour))?\s*$")
_PER = {None: 1.0, "s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0}


def parse_rate(text: str) -> float:
    """``50/s``, ``50``, ``600/min``, ``3000/h`` as messages per second; raises
    ``typer.BadParameter``."""
    match = _RATE.match(text)
    if match is None:
        raise typer.BadParameter(f"{text!r}: expected a rate such as 50/s, 600/min or 3000/h")
    per = _PER.get(match.group(2), 3600.0)
    rate = float(match.group(1)) / per
    if not 0 < rate <= MAX_RATE:
        raise typer.BadParameter(f"{text!r}: a rate above 0 and at most {MAX_RATE:g}/s")
    return rate


@contextmanager
def _store(
    tenant: str | None, by: str | None, action: str
) -> Iterator[tuple[UnitOfWorkFactory, DeadLetters, str]]:
    """The store and the tenant's dead letters, once the acting user may do ``action``."""
    with tenant_store(tenant) as (factory, chosen):
        actor = actor_of(by)
        allow(factory, chosen, actor, "dead_letters", action)
        yield factory, DeadLetters(factory, chosen), actor


@app.command("list")
def dlq_list(
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    consumer: str | None = typer.Option(None, help="Only this consumer's."),
    error_type: str | None = typer.Option(None, "--error-type", help="Only this error type."),
    all_: bool = typer.Option(False, "--all", help="Include replayed ones."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Dead letters awaiting action (oldest first)."""
    where = DeadLetterFilter(consumer, error_type, None, None if all_ else "dead")
    with _store(tenant, by, "view") as (_, store, _actor):
        items = [summary(dl) for dl in store.find(where)]
    if json_out:
        print_json(items)
        return
    table = Table("id", "consumer", "event type", "error", "attempts", "last failure", "status")
    for i in items:
        table.add_row(
            str(i["id"]),
            i["consumer"],
            i["event_type"] or "?",
            f"{i['error_type']}: {i['error_message']}"[:80],
            str(i["attempts"]),
            i["last_failed_at"][:19],
            i["status"],
        )
    console.print(table)


@app.command("show")
def dlq_show(
    dl_id: int = typer.Argument(..., metavar="ID", min=1),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """One dead letter: the original message, its headers, the error and its traceback."""
    with _store(tenant, by, "view") as (_, store, _actor):
        print_json(detail(store.get(dl_id)))


def _ids_or_all(dl_id: int | None, all_: bool) -> list[int] | None:
    if (dl_id is None) == (not all_):
        fail("give one ID or --all")
    return None if all_ else [dl_id]  # type: ignore[list-item]


@app.command("replay")
def dlq_replay(
    dl_id: int | None = typer.Argument(None, metavar="[ID]", min=1),
    all_: bool = typer.Option(False, "--all", help="Every dead letter awaiting action."),
    group: str | None = typer.Option(
        None, "--group", metavar="ERROR_TYPE", help="Every one of this error type (a group)."
    ),
    consumer: str | None = typer.Option(None, help="With --all or --group: this consumer's."),
    error_type: str | None = typer.Option(
        None, "--error-type", help="With --all: only this error."
    ),
    rate: str | None = typer.Option(
        None, help="With --all or --group: at most this many a second (50/s, 600/min)."
    ),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Send dead letters back to the consumer that failed them. A group is chosen once (those
    that fail later are not part of it) and, with --rate, sent no faster than that."""
    if group is not None:
        if dl_id is not None or (error_type is not None and error_type != group):
            fail("give --group ERROR_TYPE, or an ID, or --all with --error-type")
        all_, error_type = True, group
    ids = _ids_or_all(dl_id, all_)
    per_second = parse_rate(rate) if rate is not None else None
    if per_second is not None and ids is not None:
        fail("--rate is for a group (--group or --all)")
    where = DeadLetterFilter(consumer, error_type) if all_ else None
    with _store(tenant, by, "edit") as (_, store, actor):
        done = store.replay(ids, where, by=actor, rate=per_second)
    if per_second and done:
        seconds = (len(done) - 1) / per_second
        typer.echo(
            f"replaying {len(done)} dead letter(s) at {per_second:g}/s over {seconds:.1f}s "
            f"(sent by the running hub's relay): {done}"
        )
        return
    typer.echo(f"replayed {len(done)} dead letter(s)" + (f": {done}" if done else ""))


@app.command("purge")
def dlq_purge(
    dl_id: int | None = typer.Argument(None, metavar="[ID]", min=1),
    all_: bool = typer.Option(False, "--all", help="Every dead letter (replayed ones too)."),
    consumer: str | None = typer.Option(None, help="With --all: only this consumer's."),
    yes: bool = typer.Option(False, "--yes", help="Yes, delete them for good."),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Delete dead letters for good (they stay in the audit for HUB_AUDIT_RETENTION_DAYS).
    Needs --yes."""
    ids = _ids_or_all(dl_id, all_)
    where = DeadLetterFilter(consumer, None, None, None) if all_ else None
    with _store(tenant, by, "delete") as (_, store, actor):
        if not yes:
            count = 1 if ids is not None else store.count(where or DeadLetterFilter(status=None))
            fail(f"purging deletes {count} dead letter(s) for good: add --yes to do it")
        n = store.purge(ids, where, by=actor)
    typer.echo(f"purged {n} dead letter(s) (kept in the audit: hub dlq audit)")


@app.command("edit")
def dlq_edit_verb(
    dl_id: int = typer.Argument(..., metavar="ID", min=1),
    from_file: Path | None = typer.Option(
        None, "--file", help="Take the corrected message from this file instead of $EDITOR."
    ),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Correct a dead letter's message in $EDITOR and replay the corrected version to the
    consumer that failed it. The corrected message is validated first; the original, the diff
    and who did it are kept in the audit."""
    s = settings()
    with _store(tenant, by, "edit") as (factory, store, actor):
        dl = store.get(dl_id)
        dlq_edit.check_editable(dl)
        before = dlq_edit.editable(dl)
        if from_file is not None:
            try:
                text = from_file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                fail(f"cannot read {from_file}: {e}")
        else:
            edited = click.edit(before, extension=".json", require_save=True)
            if edited is None:
                typer.echo(f"dead letter {dl_id}: not saved; nothing replayed")
                return
            text = edited
        try:
            entry = dlq_edit.replay_corrected(
                factory, dl_id, text, tenant=store.tenant or "default", by=actor, limits=s.limits
            )
        except InvalidMessage as e:
            kept = _keep(dl_id, text) if from_file is None else from_file
            fail(
                f"the corrected message is not valid ({e}); nothing replayed; your version is in "
                f"{kept}",
                [*e.problems, f"nothing replayed; your version is in {kept} (--file {kept})"],
            )
    typer.echo(f"dead letter {dl_id}: corrected version replayed ({entry['detail']})")
    typer.echo(entry["diff"] or "", nl=False)


def _keep(dl_id: int, text: str) -> Path:
    """Save an invalid edit, so that it is not lost."""
    import tempfile

    fd, name = tempfile.mkstemp(prefix=f"hub-dead-letter-{dl_id}-", suffix=".json")
    with open(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return Path(name)


@app.command("audit")
def dlq_audit_verb(
    dl_id: int | None = typer.Argument(None, metavar="[ID]", min=1),
    json_out: bool = typer.Option(False, "--json", help="Print JSON (with the messages)."),
    limit: int = typer.Option(200, min=1, max=10_000),
    tenant: str | None = TENANT_OPTION,
    by: str | None = BY_OPTION,
) -> None:
    """Who replayed, edited or purged dead letters, and when (newest first); a purged one's
    message stays here for HUB_AUDIT_RETENTION_DAYS."""
    with _store(tenant, by, "view") as (factory, store, _actor):
        found = dlq_audit.entries(factory, store.tenant or "default", dl_id, limit)
    if json_out:
        print_json([dlq_audit.as_json(e, with_bodies=True) for e in found])
        return
    table = Table("at", "dead letter", "action", "by", "consumer", "event type", "error")
    for e in found:
        table.add_row(
            e.at.isoformat()[:19],
            str(e.dead_letter_id),
            e.action,
            e.by,
            e.consumer,
            e.event_type or "?",
            e.error_type,
        )
    console.print(table)
