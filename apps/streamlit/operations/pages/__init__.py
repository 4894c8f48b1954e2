"""The operations pages: layout only."""
