"""Reminders before contract deadlines, by e-mail and in the app (SPEC VI A2).

A daily run (the Dagster job ``reminders`` at 07:00 Europe/Oslo, or ``avtale remind``)
does three steps on the operational database:

1. ``reminders.queue_due`` reads the published mart ``contract_deadlines`` and adds a
   pending reminder for every deadline whose lead-time window is open today
   (``config/reminders.yaml``), once per natural key (contract, deadline type and date,
   lead days, kind), to the contract owner's user or the fallback recipient;
2. ``reminders.escalate`` adds one escalation to the recipient's manager for a reminder
   not acknowledged ``escalate_after_days`` after it was sent;
3. ``reminders.send_pending`` sends each pending reminder in its own transaction: the mail
   (``mail.py``: SMTP, or ``$AVTALE_HOME/outbox/`` without a server), then the row marked
   sent, the in-app notification and the audit rows, committed together.

Delivery: at least once, exactly once in practice. A crash between messages loses nothing
(the unsent stay pending for the next run) and repeats nothing (a sent row is never sent
again; the outbox skips a message whose file exists). With SMTP one window remains: the
server has said 250 and the process dies before the commit (a few milliseconds); the next
run sends that message again with the same Message-ID, derived from the natural key, by
which receivers and mail clients recognise the copy.

Nothing here imports Streamlit or Dagster; ``run.remind`` is the whole run in one call.
"""
