"""The secret store on AWS Secrets Manager: webhook signing secrets and connector credentials."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from itam.adapters import sessions


class SecretsManagerStore:
    """SecretStore on AWS Secrets Manager; reads are cached for a minute (Powertools parameters)."""

    def __init__(self, region: str, endpoint: str | None = None) -> None:
        self._region = region
        self._endpoint = endpoint

    @cached_property
    def _client(self) -> Any:
        return sessions.client("secretsmanager", self._region, self._endpoint)

    def create(self, name: str, value: Mapping[str, Any]) -> None:
        self._client.create_secret(Name=name, SecretString=json.dumps(dict(value)))

    def put(self, name: str, value: Mapping[str, Any]) -> None:
        self._client.put_secret_value(SecretId=name, SecretString=json.dumps(dict(value)))

    @cached_property
    def _provider(self) -> Any:
        from aws_lambda_powertools.utilities import parameters

        return parameters.SecretsProvider(boto3_client=self._client)

    def read(self, name: str, fresh: bool = False) -> dict[str, Any]:
        value = self._provider.get(name, max_age=60, transform="json", force_fetch=fresh)
        return dict(value)

    def delete(self, name: str) -> None:
        self._client.delete_secret(SecretId=name, RecoveryWindowInDays=7)
