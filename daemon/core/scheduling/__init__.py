"""Pure decisions of the scheduling capability: cron/rate maths, what is due, retention, admission."""
