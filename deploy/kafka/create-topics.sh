#!/bin/sh
# Create the hub's topics on a Kafka cluster (idempotent: --if-not-exists).
#   BOOTSTRAP=k1:9092,k2:9092,k3:9092 ./create-topics.sh
# Partitions bound how many hub workers share a consumer group; the key is the event subject,
# so more partitions never reorder one agreement's or one request's events. Replication 3 with
# min.insync.replicas=2 and the producer's acks=all: an acknowledged event survives one broker.
set -eu
: "${BOOTSTRAP:?set BOOTSTRAP to the cluster's bootstrap servers}"
KAFKA_TOPICS="${KAFKA_TOPICS:-kafka-topics.sh}"
P="${PARTITIONS:-6}"
RF="${REPLICATION:-3}"

topic() {  # name partitions [extra --config ...]
  name="$1"; parts="$2"; shift 2
  "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$name" --partitions "$parts" --replication-factor "$RF" \
    --config min.insync.replicas=2 "$@"
}

# Event types of the contract (schemas/events.py): one topic each, named as the type.
# Inbound to the hub
topic finance.agreement.pending "$P" --config retention.ms=1209600000
topic finance.agreement.cancelled "$P" --config retention.ms=1209600000
topic edu.request.created "$P" --config retention.ms=1209600000
topic edu.enrollment.upserted "$P" --config retention.ms=1209600000
topic finance.debt.upserted "$P" --config retention.ms=1209600000
topic billing.charge.created "$P" --config retention.ms=1209600000
topic billing.charge.failed "$P" --config retention.ms=1209600000
topic platform.user.upserted "$P" --config retention.ms=1209600000
topic erp.company.upserted "$P" --config retention.ms=1209600000
topic erp.branch.upserted "$P" --config retention.ms=1209600000
topic omni.contact.received "$P" --config retention.ms=1209600000
# Outbound from the hub
topic crm.ticket.created "$P" --config retention.ms=1209600000
topic crm.ticket.stage-changed "$P" --config retention.ms=1209600000
topic crm.ticket.cancelled "$P" --config retention.ms=1209600000
topic crm.ticket.deleted "$P" --config retention.ms=1209600000
topic crm.ticket.overdue "$P" --config retention.ms=1209600000
topic finance.agreement.approved "$P" --config retention.ms=1209600000
topic finance.agreement.rejected "$P" --config retention.ms=1209600000
topic edu.request.rejected "$P" --config retention.ms=1209600000
topic billing.charge.requested "$P" --config retention.ms=1209600000
topic crm.tenant.provisioned "$P" --config retention.ms=1209600000
topic crm.user.activated "$P" --config retention.ms=1209600000
topic crm.occurrence.recorded "$P" --config retention.ms=1209600000
topic omni.contact.rejected "$P" --config retention.ms=1209600000

# Each hub consumer's retry topic (delayed retries and dead-letter replays, hub.<consumer>),
# its streaming-view topic and the view table's changelog (same partitions as the view topic).
for consumer in finance-agreements edu-refdata edu-requests platform-users erp-companies omni-contacts portal-mail; do
  topic "hub.$consumer" "$P" --config retention.ms=1209600000
  topic "hub.$consumer.view" "$P" --config retention.ms=86400000
  topic "hub.$consumer-view-changelog" "$P" --config cleanup.policy=compact
done

# The hub's own metadata: queue bindings, redelivery marks, group members' presence.
topic hub.topology 1 --config cleanup.policy=compact
topic hub.positions 1 --config cleanup.policy=compact
topic hub.members 1 --config cleanup.policy=compact
