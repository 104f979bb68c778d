"""End to end: people are identified by their sub. The attacks of a user who changes her e-mail address,
or takes someone else's, over real HTTP with tokens of the emulated user pool."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.local.token import issue_tokens
from tests.e2e.conftest import LocalStack
from tests.e2e.http import Client, Reply
from tests.support.tokens import unverified_claims

pytestmark = pytest.mark.e2e

LAPTOP = {"kind": "hardware", "category": "laptop", "justification": "new hire"}


class Tenant:
    """A tenant of its own for one test, its users signing in to the stack's pool."""

    def __init__(self, stack: LocalStack) -> None:
        self.stack = stack
        self.id = f"t-{uuid.uuid4().hex[:10]}"
        self.cognito: Any = boto3.client(
            "cognito-idp",
            endpoint_url=stack.moto_url,
            region_name=stack.state["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def address(self, name: str) -> str:
        return f"{name}@{self.id}.example.com"

    def user(self, role: str, name: str) -> Client:
        """A client signed in as <name>@<tenant> (or the address given), with the role."""
        return Client(self.stack.gateway_url, self.stack.token(self.id, role, user=name))

    def access_token(self, role: str, name: str) -> str:
        return str(issue_tokens(self.stack.state, self.id, role, user=name)["AccessToken"])

    def set_email(self, username: str, address: str) -> None:
        """What an admin of the pool does (AdminUpdateUserAttributes): a new address, marked verified."""
        self.cognito.admin_update_user_attributes(
            UserPoolId=self.stack.state["user_pool_id"],
            Username=username,
            UserAttributes=[{"Name": "email", "Value": address}, {"Name": "email_verified", "Value": "true"}],
        )


def act(caller: Client, request: dict[str, Any], action: str, body: Any = None) -> Reply:
    return caller.post(
        f"/v1/requests/{request['id']}/{action}", body, headers={"If-Match": f'"{request["version"]}"'}
    )


def put_policy(admin: Client, steps: list[dict[str, Any]]) -> Reply:
    return admin.call("PUT", "/v1/approval-policy", json_body={"steps": steps}, headers={"If-Match": '"0"'})


def test_a_recipient_who_changes_her_e_mail_address_still_cannot_approve(local_stack: LocalStack) -> None:
    # Given: editors approve; a request made for erin, an editor, which she may not approve
    acme = Tenant(local_stack)
    admin = acme.user("admin", "admin")
    assert put_policy(admin, [{"role": "editor"}]).status == 200
    erin = acme.user("editor", "erin")
    made = (
        acme.user("viewer", "alice")
        .post("/v1/requests", {**LAPTOP, "requested_for": acme.address("erin")})
        .body
    )
    refused = act(erin, made, "approve")
    assert (refused.status, refused.body["type"]) == (403, "/problems/self-approval")

    # When: she changes her address with her own access token, the pool refuses
    with pytest.raises(ClientError) as denied:
        acme.cognito.update_user_attributes(
            AccessToken=acme.access_token("editor", "erin"),
            UserAttributes=[{"Name": "email", "Value": acme.address("erin.new")}],
        )
    assert denied.value.response["Error"]["Code"] == "NotAuthorizedException"

    # When: an admin of the pool changes it, and she signs in again with the new address
    acme.set_email(acme.address("erin"), acme.address("erin.new"))
    renamed = acme.user("editor", acme.address("erin.new"))

    # Then: she is still the person the request is for
    for action, body, problem in (
        ("approve", None, "self-approval"),
        ("reject", {"comment": "x"}, "self-rejection"),
    ):
        reply = act(renamed, made, action, body)
        assert (reply.status, reply.body["type"]) == (403, f"/problems/{problem}")
    assert admin.get(f"/v1/requests/{made['id']}").body["status"] == "submitted"
    assert act(acme.user("editor", "ed"), made, "approve").status == 200


def test_a_viewer_who_takes_the_step_s_address_neither_sees_nor_approves(local_stack: LocalStack) -> None:
    # Given: a policy naming the controller by address, and a request waiting for her
    acme = Tenant(local_stack)
    admin = acme.user("admin", "admin")
    controller_token = local_stack.token(acme.id, "viewer", user="controller")
    controller_sub = unverified_claims(controller_token)["sub"]
    stored = put_policy(admin, [{"user": acme.address("Controller")}])
    assert (stored.status, stored.body["steps"][0]["user_id"]) == (200, controller_sub), stored.body
    laptop = {"name": "L", "kind": "hardware", "category": "laptop", "status": "in_stock"}
    assert admin.post("/v1/assets", laptop).status == 201
    made = acme.user("viewer", "alice").post("/v1/requests", LAPTOP).body
    vera = acme.user("viewer", "vera")
    assert vera.get(f"/v1/requests/{made['id']}").status == 404

    # When: vera sets the step's address, in another case, on herself; or an admin does: both refused
    with pytest.raises(ClientError) as denied:
        acme.cognito.update_user_attributes(
            AccessToken=acme.access_token("viewer", "vera"),
            UserAttributes=[{"Name": "email", "Value": acme.address("Controller")}],
        )
    assert denied.value.response["Error"]["Code"] == "NotAuthorizedException"
    with pytest.raises(ClientError) as taken:
        acme.set_email(acme.address("vera"), acme.address("Controller"))
    assert taken.value.response["Error"]["Code"] == "AliasExistsException"

    # When: the controller's address changes after the policy was saved, and vera is given the old one
    acme.set_email(acme.address("controller"), acme.address("controller.old"))
    acme.set_email(acme.address("vera"), acme.address("controller"))
    impostor = acme.user("viewer", acme.address("controller"))

    # Then: to vera, the request does not exist, and waits for nobody she is
    assert impostor.get(f"/v1/requests/{made['id']}").status == 404
    assert act(impostor, made, "approve").status == 404
    assert impostor.get("/v1/requests", params={"awaiting_me": "true"}).body["items"] == []
    # And the controller, under her new address, approves it
    controller = acme.user("viewer", acme.address("controller.old"))
    approved = act(controller, made, "approve")
    assert (approved.status, approved.body["status"]) == (200, "fulfilled"), approved.body
    history = controller.get(f"/v1/requests/{made['id']}/history").body["items"]
    assert history[1]["actor"] == {"user_id": controller_sub, "username": acme.address("controller.old")}


def test_a_group_whose_name_contains_a_role_name_grants_nothing(local_stack: LocalStack) -> None:
    # Given: a group "x,admin" (a valid Cognito group name), and a user in it and in no role group
    acme = Tenant(local_stack)
    pool_id = local_stack.state["user_pool_id"]
    group = "x,admin"
    with contextlib.suppress(acme.cognito.exceptions.GroupExistsException):  # the stack's pool is shared
        acme.cognito.create_group(UserPoolId=pool_id, GroupName=group)
    username = acme.address("mallory")
    local_stack.token(acme.id, "viewer", user=username)
    acme.cognito.admin_remove_user_from_group(UserPoolId=pool_id, Username=username, GroupName="viewer")
    acme.cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
    password = f"{secrets.token_urlsafe(18)}aA1!"
    acme.cognito.admin_set_user_password(
        UserPoolId=pool_id, Username=username, Password=password, Permanent=True
    )
    signed_in = acme.cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=local_stack.state["client_id"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )["AuthenticationResult"]["IdToken"]
    assert unverified_claims(signed_in)["cognito:groups"] == [group]
    mallory = Client(local_stack.gateway_url, signed_in)

    # Then: she holds no role at all
    for reply in (mallory.get("/v1/assets"), put_policy(mallory, [{"role": "viewer"}])):
        assert (reply.status, reply.body["type"]) == (403, "/problems/forbidden")
