"""Educational requests: reference data kept from ERP events, eligibility, billing and e-mail.

Pure rules live in ``eligibility`` and ``billing``; ``refdata`` and ``requests`` hold the
repositories over the tables of ``tables``; ``mail`` queues e-mail through the outbox and
delivers it over SMTP.
"""
