"""Educational requests: reference data kept from ERP events, eligibility, billing and e-mail.

Pure rules live in ``eligibility`` and ``billing``; ``refdata`` and ``requests`` hold the
repositories over the tables of ``tables``; e-mail goes through ``hub.mail`` (the outbox and
the SMTP settings of the ticket's company and branch).
"""
