"""Pure decisions of leader election over a lease record."""
