"""The ``kafka://`` URL: brokers, the adapter's options, librdkafka settings and credentials.

URL: ``kafka://host:port[,host:port][?option=value...]``; options: ``partitions`` and
``replication`` (for topics ``setup`` creates), ``declare=0`` (do not create topics with the
admin API but let the broker auto-create them on first use, as librdkafka's mock cluster,
which has no CreateTopics, needs), ``session_timeout`` / ``rebalance_timeout`` /
``heartbeat`` (seconds, consumer group tuning), ``commit_interval`` (seconds),
``fetch_max_wait`` (seconds a fetch may wait for data; the mock cluster always waits it out).
Any other option is a librdkafka setting for the producer and admin clients; the security
ones (``security.protocol``, ``sasl.*``, ``ssl.*``) are given to the faust consumers too.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import faust
from faust.auth import Credentials

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class KafkaOptions:
    brokers: tuple[str, ...]
    partitions: int = 3
    replication: int | None = None  # default: min(3, brokers in the cluster)
    session_timeout: float = 30.0
    rebalance_timeout: float = 60.0
    heartbeat: float = 3.0
    commit_interval: float = 1.0
    fetch_max_wait: float | None = None  # seconds; default faust's 1.5
    declare: bool = True
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def protocol(self) -> str:
        return self.extra.get("security.protocol", "PLAINTEXT").upper()

    @property
    def mechanism(self) -> str:
        return (
            self.extra.get("sasl.mechanism") or self.extra.get("sasl.mechanisms") or "PLAIN"
        ).upper()

    @property
    def bootstrap(self) -> str:
        return ",".join(self.brokers)

    def client(self, **config: Any) -> dict[str, Any]:
        """librdkafka settings: the bootstrap servers, the URL's other options (e.g.
        ``security.protocol``), then ``config``."""
        return {"bootstrap.servers": self.bootstrap, **self.extra, **config}

    @classmethod
    def parse(cls, url: str) -> KafkaOptions:
        rest = url.split("://", 1)[1]
        hosts, _, query = rest.partition("?")
        brokers = tuple(h.strip().rstrip("/") for h in hosts.split(",") if h.strip())
        if not brokers:
            raise ValueError(f"no broker in {url!r}")
        opts = dict(parse_qsl(query))
        known = {
            "partitions": int,
            "replication": int,
            "session_timeout": float,
            "rebalance_timeout": float,
            "heartbeat": float,
            "commit_interval": float,
            "fetch_max_wait": float,
            "declare": lambda v: v.lower() not in {"0", "false", "no"},
        }
        values: dict[str, Any] = {
            k: conv(opts.pop(k))  # type: ignore[operator]
            for k, conv in known.items()
            if k in opts
        }
        options = cls(brokers, **values, extra=opts)
        if options.protocol not in PROTOCOLS:
            raise ValueError(
                f"security.protocol {options.protocol!r} is not one of {', '.join(PROTOCOLS)}"
            )
        if options.protocol.startswith("SASL_"):
            if options.mechanism not in MECHANISMS:
                raise ValueError(
                    f"sasl.mechanism {options.mechanism!r} is not one of {', '.join(MECHANISMS)}"
                )
            if not opts.get("sasl.username") or "sasl.password" not in opts:
                raise ValueError(f"{options.protocol} needs sasl.username and sasl.password")
        return options


def credentials(opts: KafkaOptions) -> Credentials | None:
    """The URL's librdkafka security settings as faust credentials, so the consumer groups
    connect as the producer and the admin client do (``KafkaOptions.parse`` checked them)."""
    if opts.protocol == "PLAINTEXT":
        return None
    context = None
    if opts.protocol in {"SSL", "SASL_SSL"}:
        get = opts.extra.get
        context = ssl.create_default_context(cafile=get("ssl.ca.location"))
        if get("ssl.certificate.location"):
            context.load_cert_chain(
                get("ssl.certificate.location", ""),
                get("ssl.key.location"),
                get("ssl.key.password"),
            )
        if get("enable.ssl.certificate.verification", "true").lower() == "false":
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if opts.protocol == "SSL":
            return faust.SSLCredentials(context)
    return faust.SASLCredentials(
        username=opts.extra["sasl.username"],
        password=opts.extra["sasl.password"],
        ssl_context=context,
        mechanism=opts.mechanism,
    )
