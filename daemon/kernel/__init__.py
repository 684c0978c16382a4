"""What every capability shares at run time: the kernel, supervisor, bus, status board, HTTP,
alert outbox."""
