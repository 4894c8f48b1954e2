"""The dashboard pages, drawn inside the frame's shared sidebar filters: layout only."""
