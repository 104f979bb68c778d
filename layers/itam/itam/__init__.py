"""ITAM domain package: the product's models, services, ports and adapters."""
