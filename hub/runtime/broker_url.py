"""The one reading of an AMQP broker URL, for kombu, pika, the bench and the command line.

Every documented form names the same virtual host, and a list names a cluster's nodes:

- ``amqp://guest:guest@127.0.0.1:5672//``, ``.../%2f``, ``.../`` and no path at all: vhost ``/``;
- ``amqp://.../hub-site`` (or ``.../hub%2Fsite``): that vhost, percent-decoded;
- ``amqp://h1:5672//;amqp://h2:5673//`` (or a list of URLs): one address per node, tried in
  turn when a node is lost.

Each address has a canonical URL (the vhost percent-encoded, ``/%2F`` for ``/``) that kombu and
pika read alike; pika on its own reads ``//`` as an empty vhost. Nothing here opens a socket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from hub.redaction import redact

AMQP_SCHEMES = frozenset({"amqp", "amqps", "pyamqp"})
DEFAULT_PORTS = {"amqp": 5672, "pyamqp": 5672, "amqps": 5671}
#: A failover list is written with this separator (kombu's own), or given as a list setting.
SEPARATOR = ";"
MAX_ADDRESSES = 16


class BrokerUrlError(ValueError):
    """A broker URL that cannot be read; the message says which part is wrong."""


class BrokerRefused(Exception):
    """The broker answered and refused the connection (wrong user or password, no such vhost,
    no permission): retrying cannot help, so it is reported at once."""


@dataclass(frozen=True)
class AmqpAddress:
    """One broker node: where it is, who connects and to which vhost."""

    scheme: str
    host: str
    port: int
    username: str
    password: str
    vhost: str
    query: str = ""

    @property
    def url(self) -> str:
        """The canonical URL, vhost percent-encoded (``/`` is ``%2F``)."""
        auth = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = f"?{self.query}" if self.query else ""
        scheme = "amqp" if self.scheme == "pyamqp" else self.scheme
        return f"{scheme}://{auth}{host}:{self.port}/{quote(self.vhost, safe='')}{query}"

    @property
    def display(self) -> str:
        """``host:port/vhost`` without credentials, for logs and messages."""
        return f"{self.host}:{self.port}/{self.vhost}"


def split_urls(value: str | Sequence[str]) -> list[str]:
    """The URLs of a setting: a ``;``-separated string or a list of strings."""
    items = [value] if isinstance(value, str) else list(value)
    urls = [u.strip() for item in items for u in str(item).split(SEPARATOR) if u.strip()]
    if not urls:
        raise BrokerUrlError("no broker URL given")
    if len(urls) > MAX_ADDRESSES:
        raise BrokerUrlError(f"{len(urls)} broker URLs; at most {MAX_ADDRESSES}")
    return urls


def join_urls(value: str | Sequence[str]) -> str:
    """One string for a list setting (``;``-separated)."""
    return SEPARATOR.join(split_urls(value))


def is_amqp(value: str) -> bool:
    first = value.split(SEPARATOR, 1)[0].strip()
    return first.split("://", 1)[0].lower() in AMQP_SCHEMES


def parse_amqp(value: str | Sequence[str]) -> list[AmqpAddress]:
    """Every address of an AMQP broker URL or failover list; ``BrokerUrlError`` names the
    first part that cannot be read."""
    return [_parse_one(u) for u in split_urls(value)]


def _parse_one(url: str) -> AmqpAddress:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise BrokerUrlError(f"{redact(url)}: {e}") from None
    scheme = parts.scheme.lower()
    if scheme not in AMQP_SCHEMES:
        raise BrokerUrlError(f"{redact(url)}: expected amqp:// or amqps://")
    if not parts.hostname:
        raise BrokerUrlError(f"{redact(url)}: no host")
    path = parts.path
    # "//" is the README's form of the default vhost "/"; "/" and "" mean it too
    vhost = "/" if path in {"", "/", "//"} else unquote(path[1:])
    return AmqpAddress(
        scheme=scheme,
        host=parts.hostname,
        port=port or DEFAULT_PORTS[scheme],
        username=unquote(parts.username) if parts.username is not None else "guest",
        password=unquote(parts.password) if parts.password is not None else "guest",
        vhost=vhost,
        query=parts.query,
    )
