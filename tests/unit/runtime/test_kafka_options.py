"""Kafka URLs and headers, without a broker."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import faust
import pytest

from hub.runtime.transports.kafka.options import KafkaOptions, credentials
from hub.runtime.transports.kafka.topology import decode_headers, encode_headers


def test_a_url_names_brokers_and_tuning_and_passes_other_options_to_librdkafka() -> None:
    o = KafkaOptions.parse(
        "kafka://k1:9092,k2:9092/?partitions=12&declare=0&session_timeout=6&security.protocol=SSL"
    )
    assert o.brokers == ("k1:9092", "k2:9092")
    assert (o.partitions, o.declare, o.session_timeout) == (12, False, 6.0)
    assert o.replication is None  # chosen from the cluster's size
    assert o.client(**{"group.id": "g"}) == {
        "bootstrap.servers": "k1:9092,k2:9092",
        "security.protocol": "SSL",
        "group.id": "g",
    }


def test_a_url_without_a_broker_is_refused() -> None:
    with pytest.raises(ValueError, match="no broker"):
        KafkaOptions.parse("kafka://")


def test_header_values_keep_their_types_through_kafka_headers() -> None:
    headers = {"x-hub-attempt": 3, "x-hub-last-error": "TransientError: boom", "x": None}
    assert decode_headers(encode_headers(headers)) == headers
    # headers written by other producers are plain bytes
    assert decode_headers([("trace", b"abc-1"), ("n", b"7")]) == {"trace": "abc-1", "n": 7}


def test_security_settings_are_checked_when_the_url_is_read() -> None:
    with pytest.raises(ValueError, match="security.protocol 'TLS' is not one of"):
        KafkaOptions.parse("kafka://k:9092?security.protocol=TLS")
    with pytest.raises(ValueError, match="SASL_SSL needs sasl.username and sasl.password"):
        KafkaOptions.parse("kafka://k:9092?security.protocol=SASL_SSL&sasl.mechanism=PLAIN")
    with pytest.raises(ValueError, match="sasl.mechanism 'GSSAPI' is not one of"):
        KafkaOptions.parse(
            "kafka://k:9092?security.protocol=sasl_plaintext&sasl.mechanism=GSSAPI"
            "&sasl.username=u&sasl.password=p"
        )


def test_the_consumer_groups_get_the_same_security_as_the_librdkafka_clients(
    tmp_path: Path,
) -> None:
    assert credentials(KafkaOptions.parse("kafka://k:9092")) is None

    scram = credentials(
        KafkaOptions.parse(
            "kafka://k:9092?security.protocol=SASL_PLAINTEXT&sasl.mechanism=SCRAM-SHA-512"
            "&sasl.username=hub&sasl.password=s3cret"
        )
    )
    assert isinstance(scram, faust.SASLCredentials)
    assert (scram.username, scram.password, scram.mechanism.value, scram.protocol.value) == (
        "hub",
        "s3cret",
        "SCRAM-SHA-512",
        "SASL_PLAINTEXT",
    )

    ca, cert, key = _self_signed(tmp_path)
    tls = credentials(
        KafkaOptions.parse(
            f"kafka://k:9093?security.protocol=SSL&ssl.ca.location={ca}"
            f"&ssl.certificate.location={cert}&ssl.key.location={key}"
        )
    )
    assert isinstance(tls, faust.SSLCredentials)
    assert [c["subject"] for c in tls.context.get_ca_certs()] == [((("commonName", "hub-ca"),),)]
    assert tls.context.verify_mode == ssl.CERT_REQUIRED

    sasl_ssl = credentials(
        KafkaOptions.parse(
            f"kafka://k:9093?security.protocol=SASL_SSL&sasl.username=hub&sasl.password=p"
            f"&ssl.ca.location={ca}&enable.ssl.certificate.verification=false"
        )
    )
    assert isinstance(sasl_ssl, faust.SASLCredentials)
    assert sasl_ssl.protocol.value == "SASL_SSL" and sasl_ssl.mechanism.value == "PLAIN"
    assert sasl_ssl.ssl_context is not None
    assert sasl_ssl.ssl_context.verify_mode == ssl.CERT_NONE


def _self_signed(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A CA certificate and a client certificate and key (the CA's own, for brevity)."""
    cert, key = tmp_path / "ca.pem", tmp_path / "ca.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=hub-ca", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, cert, key
