"""The API's routers, one per resource, and the bounded context each serves.

A function deployed for one context includes that context's routers only, so it never imports another
context's models or services; `include_contexts` imports a router module the first time it is needed.

The router modules do without `from __future__ import annotations`: Powertools reads the type hints of
a route and of its dependencies on every request, and string annotations would be compiled again each
time (a request on in-memory services took four times as long with them)."""

import importlib

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

# In the order the OpenAPI document lists their paths.
CONTEXTS: dict[str, tuple[str, ...]] = {
    "meta": ("meta",),
    "assets": ("assets",),
    "licenses": ("licenses", "installations", "normalization_rules", "compliance", "audits"),
    "procurement": ("webhook_endpoints",),
    "inventory": ("connectors",),
    "requests": ("asset_requests",),
    # Money: contracts, depreciation and total cost of ownership (an asset's books are read here, so
    # that the register's function does not load them).
    "finance": ("contracts", "depreciation_profiles", "asset_books"),
}


def include_contexts(app: APIGatewayHttpResolver, contexts: tuple[str, ...], included: set[str]) -> None:
    """Include the routers of `contexts` in `app`, each module once (`included` records which are in)."""
    for context in contexts:
        for name in CONTEXTS[context]:
            if name in included:
                continue
            module = importlib.import_module(f"{__name__}.{name}")
            app.include_router(module.router, prefix=module.PREFIX)
            included.add(name)
