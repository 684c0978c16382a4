"""Pure decisions of the events capability: wire models, decode, the job tracker, thresholds."""
