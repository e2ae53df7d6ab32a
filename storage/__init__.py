"""PostgreSQL, the system of record: migrations, lead records, the email outbox."""
