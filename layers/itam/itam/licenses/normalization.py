"""Software normalization: a tenant's rules turn the names discovery reports into canonical products."""

from __future__ import annotations

from collections.abc import Sequence

from itam.licenses.models import Rule


class Normalizer:
    """The first rule (oldest first) that matches a raw product, vendor and version names the product;
    without a match the product keeps its own name."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._rules = list(rules)
        self._cache: dict[tuple[str, str | None, str | None], str] = {}

    def canonical(self, product: str, vendor: str | None = None, version: str | None = None) -> str:
        key = (product, vendor, version)
        name = self._cache.get(key)
        if name is None:
            rule = next((r for r in self._rules if r.matches(product, vendor, version)), None)
            name = rule.product if rule is not None else " ".join(product.split())
            if len(self._cache) < 10_000:
                self._cache[key] = name
        return name
