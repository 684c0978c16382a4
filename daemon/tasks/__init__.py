"""Tasks capability: restores and exports as background tasks, and their catch-up after restarts."""
