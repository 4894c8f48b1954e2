"""The one door to the operational database: a module per thing users do.

``database`` opens the database (migrated once per process, under a lock that works
across processes); ``unit_of_work`` runs every write in one transaction after checking
that the actor may (an active user with a role allowed to do it, or a ``System`` caller
such as the command line) and turns validation problems into ``Outcome.errors``. The task
modules (``customers``, ``contracts``, ``documents``, ``agreements``, ``invoices`` and
``invoice_delivery``, ``templates``, ``renewals``, ``bulk``, ``uploads``, ``users``,
``notifications``, ``search``, ``timeline``, ``demo``; ``lookups`` and ``inputs`` are their shared helpers)
are used alike by the app, the command line and the Dagster jobs.

What leaves a service is plain: an ``Outcome`` from a write; from a read a frozen
dataclass for one thing, a pandas DataFrame for a table a page shows, or lists and dicts
of plain values. No ORM object and no session leaves this package, so its callers need
neither SQLAlchemy nor the repository's models.
"""
