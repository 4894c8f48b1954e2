"""The public pages: signing links and the customer portal (SPEC S1-S2, P1-P2), served on
their own port by `avtale portal`, apart from the staff app (ARCHITECTURE.md says why)."""
