"""Adapters at the edges: PostgreSQL, RabbitMQ, Google Meet, metrics."""
