"""Contracts: support, maintenance, leases, warranties, SLAs, services and subscriptions."""
