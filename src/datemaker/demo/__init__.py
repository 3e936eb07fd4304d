"""`datemaker demo`: one whole dating event on the embedded defaults — SQLite
event store, an in-process message bus instead of RabbitMQ, fake Meet rooms —
with simulated bot users and compressed timings."""
