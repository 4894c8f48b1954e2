"""For sales ops and approvers: enter agreements (guided, plain, counterparty paper), the inbox."""
