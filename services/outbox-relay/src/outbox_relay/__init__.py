"""outbox-relay."""
