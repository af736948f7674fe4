"""Outgoing e-mail: the SMTP servers of a tenant's companies and branches, which server sends
a message (branch, then company, then the tenant's primary server, then ``HUB_SMTP_URL``), the
outbox rows that carry messages and the deliverer that sends them, and the "send a test e-mail"
check. See docs/mail.md."""
