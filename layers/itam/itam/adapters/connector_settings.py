"""Connector settings and credentials checked against their type's models when a connector is
created or changed. The providers' models are imported by the check itself, so reading a connector
costs none of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import BaseModel, ValidationError

from itam.errors import InvalidInput
from itam.inventory.models import ConnectorType

if TYPE_CHECKING:
    from itam.inventory.saas import Provider

ModelT = TypeVar("ModelT", bound=BaseModel)


def validate_settings(
    type_: ConnectorType, settings: Mapping[str, Any], credentials: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The settings and credentials as the type's models read them, or InvalidInput naming the
    first field in error (`settings.role_arn`, `credentials.token`)."""
    if type_ is ConnectorType.AWS:
        from itam.adapters.aws.model import AwsConnectorConfig

        aws = checked_model(AwsConnectorConfig, settings, "settings")
        return aws.model_dump(mode="json", exclude_none=True), None
    from itam.inventory.saas import CREDENTIALS, SETTINGS

    provider = cast("Provider", type_.value)
    checked = checked_model(SETTINGS[provider], settings, "settings")
    secret = None
    if credentials is not None:
        secret = _secret_values(checked_model(CREDENTIALS[provider], credentials, "credentials"))
    return checked.model_dump(mode="json"), secret


def checked_model(model: type[ModelT], value: Mapping[str, Any], where: str) -> ModelT:
    """`value` read by `model`, or InvalidInput naming the first field in error under `where`."""
    try:
        return model.model_validate(dict(value))
    except ValidationError as error:
        first = error.errors()[0]
        path = ".".join(str(part) for part in (where, *first["loc"]))
        raise InvalidInput(f"{path}: {first['msg']}", path) from None


def _secret_values(model: BaseModel) -> dict[str, Any]:
    """The credentials as stored: secret strings revealed (they go to the secret store only)."""
    values: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        elif isinstance(value, BaseModel):
            value = _secret_values(value)
        values[name] = value
    return values
