"""The tenants' users, in the Cognito user pool: who a name given to the API is."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from botocore.exceptions import ClientError, ParamValidationError

from itam.adapters import sessions
from itam.requests.ports import Person
from itam.tenancy import TenantContext

TENANT_ATTRIBUTE = "custom:tenant_id"
# What AdminGetUser answers for a name that is no user, or could not be one.
NO_SUCH_USER = frozenset({"UserNotFoundException", "InvalidParameterException"})


class CognitoDirectory:
    """Directory on a Cognito user pool whose users sign in with their e-mail address: AdminGetUser
    takes the address or the user name, and the pool compares both without case (its username
    configuration is case-insensitive). One call per name; the function needs cognito-idp:AdminGetUser
    on the pool, nothing else."""

    def __init__(self, user_pool_id: str | None, region: str, endpoint: str | None = None) -> None:
        self._pool_id = user_pool_id
        self._region = region
        self._endpoint = endpoint

    @cached_property
    def _client(self) -> Any:
        return sessions.client("cognito-idp", self._region, self._endpoint)

    def find(self, ctx: TenantContext, name: str) -> Person | None:
        if not self._pool_id:
            raise RuntimeError("USER_POOL_ID is not set: this function cannot tell who a user is")
        try:
            user = self._client.admin_get_user(UserPoolId=self._pool_id, Username=name)
        except ParamValidationError:
            return None
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in NO_SUCH_USER:
                return None
            raise
        attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
        # A user of another tenant is nobody here, as a missing one: the answer is the same.
        if attributes.get(TENANT_ATTRIBUTE) != ctx.tenant_id or not user.get("Enabled", False):
            return None
        sub = attributes.get("sub")
        if not sub:
            return None
        return Person(user_id=sub, name=attributes.get("email") or str(user["Username"]))
