"""Cursors on moto, through the API: sealed with the secret from Secrets Manager, read only when a cursor
is made or read, and refused for another tenant, listing or filter, or when altered."""

from __future__ import annotations

import base64

from itam.adapters import cursors
from tests.integration.conftest import Api

OFFICE = {"product": "Office", "metric": "per_user", "quantity": 1}
ROLE = "arn:aws:iam::123456789012:role/itam-reader"


def two_pages(api: Api, path: str, body: dict[str, object]) -> str:
    """A cursor to the second page of a listing of two objects."""
    for _ in range(2):
        assert api.post(path, body).status == 201
    cursor: str = api.get(path, query={"limit": "1"}).body["next_cursor"]
    assert cursor
    return cursor


def test_a_cursor_shows_neither_the_tenant_nor_the_table_keys(api: Api) -> None:
    cursor = two_pages(api, "/v1/licenses", OFFICE)
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))

    for clear in (b"acme", b"PK", b"GSI", b"LICENSE", b"T#"):
        assert clear not in raw
    assert len(api.get("/v1/licenses", query={"cursor": cursor}).body["items"]) == 1


def test_a_cursor_works_only_for_its_tenant_listing_and_filters(api: Api) -> None:
    cursor = two_pages(api, "/v1/licenses", OFFICE)
    api.post("/v1/connectors", {"type": "aws", "name": "Org", "settings": {"role_arn": ROLE}})
    flipped = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    flipped[-1] ^= 1
    altered = base64.urlsafe_b64encode(bytes(flipped)).decode().rstrip("=")

    for caller, path, query in (
        (api.as_("globex"), "/v1/licenses", {}),
        (api, "/v1/licenses", {"product": "Office"}),
        (api, "/v1/connectors", {}),
        (api, "/v1/normalization-rules", {}),
        (api, "/v1/audits", {}),
    ):
        reply = caller.get(path, query={**query, "cursor": cursor})
        assert (reply.status, reply.body["type"]) == (400, "/problems/invalid-cursor"), path
    reply = api.get("/v1/licenses", query={"cursor": altered})
    assert (reply.status, reply.body["type"]) == (400, "/problems/invalid-cursor")


def test_the_secret_is_read_when_a_cursor_is_first_made_and_kept(api: Api) -> None:
    lic = api.post("/v1/licenses", OFFICE).body
    assert api.get(f"/v1/licenses/{lic['id']}").status == 200
    assert api.get("/v1/licenses").body["next_cursor"] is None  # the last page makes no cursor
    assert cursors.secret_provider.cache_info().currsize == 0  # nothing asked Secrets Manager

    cursor = two_pages(api, "/v1/licenses", OFFICE)
    api.get("/v1/licenses", query={"limit": "1", "cursor": cursor})

    assert cursors.secret_provider.cache_info().misses == 1  # one provider; it caches the secret
