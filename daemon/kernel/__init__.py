"""What every capability shares at run time: supervisor, bus, status board, HTTP, alert outbox."""
