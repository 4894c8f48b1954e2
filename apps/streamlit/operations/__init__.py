"""For sales ops and readers: find and work customers and contracts, deadlines, renewals, bulk."""
