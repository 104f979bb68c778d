"""A small HTTP client for the end-to-end tests (real sockets, real gateway)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import requests


@dataclass
class Reply:
    status: int
    headers: Any
    body: Any

    @property
    def etag(self) -> str:
        return str(self.headers["ETag"])


class Client:
    """Calls the local gateway as one user (bearer token) or anonymously."""

    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        response = self.session.request(
            method,
            self.base_url + path,
            json=json_body,
            data=data,
            headers=headers,
            params=params,
            timeout=30,
        )
        content_type = response.headers.get("content-type", "")
        body: Any = response.text
        if "json" in content_type and response.content:
            body = json.loads(response.content)
        return Reply(response.status_code, response.headers, body)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.call("POST", path, json_body=body, **kwargs)

    def patch(self, path: str, body: Any, etag: str | None = None) -> Reply:
        return self.call("PATCH", path, json_body=body, headers={"If-Match": etag} if etag else None)
