"""Secrets in URLs are never shown: passwords with '/', '@', ':' or '?', an empty user, lists."""

from __future__ import annotations

import pytest

from hub.settings import redact

CASES = [
    ("amqp://hub:pw@mq:5672//", "amqp://hub:***@mq:5672//"),
    ("amqp://guest:pa/ss@h:5672//", "amqp://guest:***@h:5672//"),
    ("amqp://u:p@ss:w/o?rd@h:5672/%2f", "amqp://u:***@h:5672/%2f"),
    ("amqp://:secret@h:5672/", "amqp://:***@h:5672/"),
    ("postgresql+psycopg://root:s3/cr@t@db/hub", "postgresql+psycopg://root:***@db/hub"),
    ("postgresql+psycopg://root@db/hub", "postgresql+psycopg://root@db/hub"),
    (
        "amqp://a:b@h1:5672//;amqp://c:d/e@h2:5673//",
        "amqp://a:***@h1:5672//;amqp://c:***@h2:5673//",
    ),
    (
        "kafka://k:9092?sasl.password=x&ssl.key.password=y&partitions=3",
        "kafka://k:9092?sasl.password=***&ssl.key.password=***&partitions=3",
    ),
    ("sqla+sqlite:////tmp/broker.sqlite?lease=3", "sqla+sqlite:////tmp/broker.sqlite?lease=3"),
]
SECRETS = ["pw", "pa/ss", "p@ss:w/o?rd", "secret", "s3/cr@t", "b", "d/e", "=x", "=y"]


@pytest.mark.parametrize(("url", "shown"), CASES)
def test_a_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_no_secret_survives_in_any_case() -> None:
    for (url, _), secret in zip(CASES, SECRETS, strict=False):
        out = redact(url)
        assert ":" + secret + "@" not in out and secret + "&" not in out, (url, out)
