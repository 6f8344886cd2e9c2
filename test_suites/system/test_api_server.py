"""The API under gunicorn, through a real HTTP client: the token life cycle, every
error status as problem details, a list read to its end, and docs/api.md's curl blocks.

The tests share one server and run in order: the last spends the password attempts.
"""

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from testkit.clients import PASSWORD, Auth, LiveClient
from testkit.services.gunicorn import gunicorn_server
from testkit.services.processes import Server, unavailable
from testkit.services.production import ROOT, production_environment, upgrade_database

pytestmark = pytest.mark.system

PROBLEM = {"type", "title", "status", "detail", "request_id"}
# One worker: the rate limits count in its memory, so the 429 comes when it should.
SETTINGS = {"RATELIMIT_AUTH": "30 per minute", "RATELIMIT_API": "1000 per minute"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("api-server")
    environment = production_environment(workdir, **SETTINGS)
    upgrade_database(environment)
    with gunicorn_server(
        "testkit.crashing_app:app",
        environment=environment,
        output=workdir / "gunicorn.log",
        workers=1,
    ) as served:
        for name in ("alice", "susan"):
            assert Auth(LiveClient(served.url)).register(name).status == 302
        yield served


def token_of(server: Server, username: str = "alice") -> str:
    answer = requests.post(f"{server.url}/api/v1/tokens", auth=(username, PASSWORD), timeout=30)
    assert answer.status_code == 201, answer.text
    return answer.json()["token"]


def assert_problem(answer: requests.Response, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    problem = answer.json()
    assert set(problem) >= PROBLEM and problem["status"] == status, problem
    assert problem["request_id"] == answer.headers["X-Request-ID"]
    return problem


def test_a_token_is_obtained_used_listed_and_revoked(server):
    session = requests.Session()
    issued = session.post(
        f"{server.url}/api/v1/tokens",
        auth=("alice", PASSWORD),
        json={"name": "system test", "expires_in_days": 2},
        timeout=30,
    )
    assert issued.status_code == 201 and issued.headers["Cache-Control"] == "no-store"
    token = issued.json()["token"]
    session.headers["Authorization"] = f"Bearer {token}"
    assert session.get(f"{server.url}/api/v1/me", timeout=30).json()["username"] == "alice"
    listed = session.get(f"{server.url}/api/v1/tokens", timeout=30).json()["items"]
    current = [item for item in listed if item["current"]]
    assert [item["name"] for item in current] == ["system test"]
    revoked = session.delete(f"{server.url}/api/v1/tokens/{current[0]['id']}", timeout=30)
    assert revoked.status_code == 204
    assert_problem(session.get(f"{server.url}/api/v1/me", timeout=30), 401)


def test_every_error_status_is_problem_details(server):
    alice = {"Authorization": f"Bearer {token_of(server)}"}
    susan = {"Authorization": f"Bearer {token_of(server, 'susan')}"}
    url = f"{server.url}/api/v1"
    post = requests.post(f"{url}/posts", headers=alice, json={"body": "Mine"}, timeout=30).json()
    answers = {
        400: requests.get(f"{url}/feed?limit=%00", headers=alice, timeout=30),
        401: requests.get(f"{url}/feed", timeout=30),
        403: requests.delete(f"{server.url}{post['url']}?version=1", headers=susan, timeout=30),
        404: requests.get(f"{url}/posts/99999", headers=alice, timeout=30),
        405: requests.put(f"{url}/feed", headers=alice, timeout=30),
        409: requests.patch(
            f"{server.url}{post['url']}",
            headers=alice,
            json={"body": "x", "version": 9},
            timeout=30,
        ),
        413: requests.post(f"{url}/posts", headers=alice, json={"body": "x" * 2**21}, timeout=30),
        415: requests.post(f"{url}/posts", headers=alice, data={"body": "a form"}, timeout=30),
        422: requests.post(f"{url}/posts", headers=alice, json={"body": 42}, timeout=30),
        500: requests.get(f"{url}/crash/", headers=alice, timeout=30),
    }
    for status, answer in answers.items():
        assert_problem(answer, status)
    assert answers[422].json()["errors"][0]["field"] == "body"
    assert answers[409].json()["current_version"] == 1


def test_a_users_posts_are_read_to_the_end_by_next_links(server):
    headers = {"Authorization": f"Bearer {token_of(server, 'susan')}"}
    written = []
    for number in range(7):
        answer = requests.post(
            f"{server.url}/api/v1/posts",
            headers=headers,
            json={"body": f"page {number}"},
            timeout=30,
        )
        written.append(answer.json()["id"])
    pages, path = [], "/api/v1/users/susan/posts?limit=3"
    while path is not None:
        listed = requests.get(f"{server.url}{path}", headers=headers, timeout=30).json()
        pages.append([post["id"] for post in listed["items"]])
        path = listed["next"]
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [post_id for page in pages for post_id in page] == written[::-1]


def curl_blocks(page: Path) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", page.read_text(), re.MULTILINE | re.DOTALL)


def test_the_curl_examples_of_docs_api_md_work_as_written(server, tmp_path):
    if shutil.which("curl") is None:
        unavailable("curl is not installed (Debian package curl)")
    blocks = curl_blocks(ROOT / "docs" / "api.md")
    assert len(blocks) >= 8
    alice = {"Authorization": f"Bearer {token_of(server)}"}
    requests.post(
        f"{server.url}/api/v1/posts",
        headers=alice,
        json={"body": "One of alice's posts"},
        timeout=30,
    )
    # Something for susan to read in her conversations and notifications.
    requests.post(
        f"{server.url}/api/v1/messages/susan", headers=alice, json={"body": "Hi Susan"}, timeout=30
    )
    script = "set -euo pipefail\n" + "\n".join(blocks)
    environment = {
        "PATH": "/usr/bin:/bin",
        "SITE": server.url,
        "MICROBLOG_USER": "susan",
        "MICROBLOG_PASSWORD": PASSWORD,
    }
    done = subprocess.run(  # noqa: S603 - bash running the page's own blocks
        ["/bin/bash", "-c", script],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    output = done.stdout
    for expected in (
        '"body":"Hello from curl #api"',
        '"body":"Hello again"',
        '"status": 409',
        '"current_version": 2',
        '"body":"And a reply"',
        "204",
        '"username":"alice"',
        '"is_following":true',
        '"sender":"susan"',
        "\n200\n",  # the message sent again with its key
        '"messages":1,"notifications":1',
        '"body":"Hi Susan"',
        '"kind":"message"',
        '"messages":0,"notifications":0',
        '"detail": "You have blocked alice: you cannot message each other."',
        '"status": 401',
    ):
        assert expected in output, (expected, output)
    # The loop printed each post's body on its way to the end.
    assert "One of alice's posts" in done.stderr


# Last: it spends the address's allowance of password attempts, which tokens need.
def test_too_many_password_attempts_are_problem_details_too(server):
    for _ in range(31):
        refused = requests.post(f"{server.url}/api/v1/tokens", auth=("alice", "x"), timeout=30)
        if refused.status_code == 429:
            break
        assert_problem(refused, 401)
    assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0
