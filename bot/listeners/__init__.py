"""Listeners: one module per feature, each with ``register(app, services, surface)``."""
