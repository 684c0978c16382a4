"""Pure decisions of restores and exports: restore names and triggers, rotation, export plans."""
