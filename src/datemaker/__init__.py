"""datemaker: runs online speed-dating events for a chat-bot dating platform."""
