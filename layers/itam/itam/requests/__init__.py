"""Requests for hardware and license seats: approval by a per-tenant policy, then fulfilment."""
