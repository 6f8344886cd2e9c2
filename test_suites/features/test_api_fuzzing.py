"""Schemathesis against the served OpenAPI document: no 5xx, every answer as documented.

The document is read from the app (/api/v1/openapi.json, through WSGI); every
operation gets a bounded number of generated requests (``EXAMPLES``, Hypothesis
derandomized: the same requests every run), valid ones and invalid ones, with a
valid token (HTTP Basic for the operation that issues tokens), on a database with
users, posts and replies, a conversation and notifications that the generated ids
and names can reach (valid requests name alice and bob too). Hypothesis also draws
text from the constants of the modules loaded, so the file run alone and the whole
suite generate different requests (each the same every run): check both. Every answer
must pass Schemathesis' checks: no server error, a documented status, content type
and headers, a body that its schema describes, an invalid request refused. Run with
``-n 0 -s`` to see how many requests were generated and their statuses.
"""

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from app.extensions import db
from app.models import Post
from testkit.api_clients import basic, bearer, obtain_token
from testkit.clients import make_user

EXAMPLES = 25
# Every request of the run, by operation, and every status answered.
SENT: Counter[str] = Counter()
STATUSES: Counter[int] = Counter()
# Calls are many and fast: the per-token and writing allowances are not what is tested.
UNLIMITED = {
    name: "1000000 per minute"
    for name in (
        "RATELIMIT_API",
        "RATELIMIT_WRITING",
        "RATELIMIT_MESSAGES",
        "RATELIMIT_AUTH",
        "RATELIMIT_ACCOUNT",
    )
}


@pytest.fixture
def app_settings():
    return UNLIMITED


@pytest.fixture
def fuzzed(app, client):
    """The app's document, with a database the generated requests can find things in."""
    alice = make_user("alice")
    bob = make_user("bob")
    for number in range(1, 11):
        post = Post.publish(f"Post {number} #tag", (alice if number % 2 else bob).id)
        Post.publish(f"A reply to {number}", bob.id, reply_to=post)
    db.session.commit()
    alices, bobs = bearer(obtain_token(client)), bearer(obtain_token(client, "bob"))
    client.put("/api/v1/users/bob/follow", headers=alices)
    # A conversation and notifications (the follow, the replies, a message) to read.
    for sender, recipient in ((alices, "bob"), (bobs, "alice"), (alices, "bob")):
        sent = client.post(f"/api/v1/messages/{recipient}", headers=sender, json={"body": "Hi"})
        assert sent.status_code == 201, sent.get_data(as_text=True)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def token(client, fuzzed):
    return obtain_token(client)


@pytest.fixture(scope="module", autouse=True)
def tally():
    """Print what the module's run sent (seen with ``-s``)."""
    yield
    print(
        f"\nSchemathesis: {sum(SENT.values())} requests, statuses {dict(sorted(STATUSES.items()))}"
    )
    for operation, count in sorted(SENT.items()):
        print(f"  {count:4d}  {operation}")


def fuzz(operation: schemathesis.APIOperation, mode: GenerationMode, headers: dict) -> None:
    """One operation's bounded run: every generated request answered as documented."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def answered_as_documented(case) -> None:
        response = case.call(headers=headers)
        SENT[f"{mode.value} {case.method} {case.operation.path}"] += 1
        STATUSES[response.status_code] += 1
        case.validate_response(response, headers=headers)

    answered_as_documented()


def name_people_who_exist(fuzzed: schemathesis.BaseSchema) -> None:
    """Valid requests name, besides the names generated, alice and bob: a generated name
    is nobody's (a 404), and the answers about real people (profiles, conversations,
    follows, blocks) are to be checked too. (Not invalid requests, which a real name
    could make valid.)"""

    @fuzzed.hook
    def flatmap_path_parameters(context, parameters):
        if not parameters or "username" not in parameters:
            return st.just(parameters)
        return st.sampled_from(
            [parameters, {**parameters, "username": "bob"}, {**parameters, "username": "alice"}]
        )


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_generated_request_is_answered_as_documented(fuzzed, token, mode):
    if mode == GenerationMode.POSITIVE:
        name_people_who_exist(fuzzed)
    # Operation by operation, each with its own bounded run. (Schemathesis' pytest
    # loader of a fixture's schema does not run under pytest 9: the loop is ours.)
    for found in fuzzed.get_all_operations():
        operation = found.ok()
        # The operation that issues tokens takes a password, every other one the token.
        issuing = operation.path == "/api/v1/tokens" and operation.method.upper() == "POST"
        fuzz(operation, mode, basic() if issuing else bearer(token))
