"""The admin pages: layout only."""
