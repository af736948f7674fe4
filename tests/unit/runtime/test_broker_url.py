"""One reading of a broker URL for kombu, pika, the bench and the command line."""

from __future__ import annotations

import pika
import pytest
from kombu import Connection

from hub.errors import ConfigurationError
from hub.runtime.broker_url import BrokerUrlError, join_urls, parse_amqp
from hub.settings import load_settings
from producers.publisher import connection_parameters

DEFAULT_VHOST_FORMS = [
    "amqp://guest:guest@127.0.0.1:5672//",
    "amqp://guest:guest@127.0.0.1:5672/%2f",
    "amqp://guest:guest@127.0.0.1:5672/%2F",
    "amqp://guest:guest@127.0.0.1:5672/",
    "amqp://guest:guest@127.0.0.1:5672",
]


@pytest.mark.parametrize("url", DEFAULT_VHOST_FORMS)
def test_every_documented_form_names_the_default_vhost_for_kombu_and_pika(url: str) -> None:
    (address,) = parse_amqp(url)
    assert (address.host, address.port, address.vhost) == ("127.0.0.1", 5672, "/")
    assert Connection(address.url).virtual_host == "/"
    (params,) = connection_parameters(url)
    assert params.virtual_host == "/"  # pika alone reads "//" as an empty vhost


def test_pika_on_its_own_reads_the_readme_form_as_an_empty_vhost() -> None:
    """Why the hub's parser stands between pika and the URL."""
    assert pika.URLParameters("amqp://guest:guest@127.0.0.1:5672//").virtual_host == ""


def test_a_named_vhost_and_an_encoded_one_are_kept() -> None:
    assert parse_amqp("amqp://u:p@h:5673/hub-site")[0].vhost == "hub-site"
    (address,) = parse_amqp("amqp://u:p%40ss@h/hub%2Fsite")
    assert (address.vhost, address.password, address.port) == ("hub/site", "p@ss", 5672)
    assert connection_parameters(address.url)[0].virtual_host == "hub/site"
    assert connection_parameters(address.url)[0].credentials.password == "p@ss"


def test_a_failover_list_names_each_node_in_order() -> None:
    urls = "amqp://guest:guest@h1:5672//; amqp://guest:guest@h2:5673//"
    assert [(a.host, a.port, a.vhost) for a in parse_amqp(urls)] == [
        ("h1", 5672, "/"),
        ("h2", 5673, "/"),
    ]
    as_list = ["amqp://guest:guest@h1:5672//", "amqp://guest:guest@h2:5673//"]
    assert parse_amqp(as_list) == parse_amqp(urls)
    assert [p.port for p in connection_parameters(urls)] == [5672, 5673]
    assert join_urls(as_list).count(";") == 1


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("amqp://guest:guest@127.0.0.1:notaport//", "Port"),
        ("amqp://", "no host"),
        ("amqp://h1//;kafka://h2:9092", "expected amqp"),
        (" ; ", "no broker URL"),
    ],
)
def test_an_unreadable_url_says_which_part_is_wrong(url: str, reason: str) -> None:
    with pytest.raises(BrokerUrlError, match=reason):
        parse_amqp(url)


def test_the_settings_take_a_failover_list_from_the_environment_or_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("HUB_BROKER_URL", "amqp://g:g@h1:5672//;amqp://g:g@h2:5673//")
    assert len(parse_amqp(load_settings().effective_broker_url)) == 2
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    toml = tmp_path / "hub.toml"
    toml.write_text('broker_url = ["amqp://g:g@h1:5672//", "amqp://g:g@h2:5673/%2f"]\n')
    monkeypatch.delenv("HUB_BROKER_URL")
    monkeypatch.setenv("HUB_SETTINGS_FILE", str(toml))
    assert [a.port for a in parse_amqp(load_settings().effective_broker_url)] == [5672, 5673]


def test_a_bad_url_in_the_list_is_refused_with_its_setting_and_no_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUB_BROKER_URL", "amqp://g:secret@h1:5672//;amqp://g:secret@h2:x//")
    with pytest.raises(ConfigurationError, match="HUB_BROKER_URL") as caught:
        load_settings()
    assert "secret" not in str(caught.value)
