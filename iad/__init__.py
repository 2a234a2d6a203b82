"""The core of the IAD loket assistant: config, database, taxonomy, app factory and CLI."""
