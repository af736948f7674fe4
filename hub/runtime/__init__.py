"""The message runtime: unit of work, dispatch, ack / retry / dead-letter policy, outbox relay."""
