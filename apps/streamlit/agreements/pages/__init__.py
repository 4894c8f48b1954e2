"""The agreement pages: layout only."""
