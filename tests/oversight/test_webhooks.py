"""The outgoing webhook against a local receiver: signed, retried after a refusal with
back-off, every attempt logged, and never acknowledged twice."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.personas import World
from utfall.oversight import actions, webhooks
from utfall.oversight.models import WebhookEndpoint, WebhookMessage

pytestmark = pytest.mark.django_db
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Receiver:
    """A quality management system's endpoint: refuses the first ``refuse`` requests with 503,
    then acknowledges with 204, counting acknowledgements per webhook-id."""

    def __init__(self, refuse: int) -> None:
        self.refuse = refuse
        self.requests: list[dict[str, Any]] = []
        self.acknowledged: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                valid = webhooks.verify(SECRET, headers, body)
                receiver.requests.append({"headers": headers, "body": json.loads(body), "valid": valid})
                if not valid:
                    self.send_response(401)
                elif len(receiver.requests) <= receiver.refuse:
                    self.send_response(503)
                else:
                    message_id = headers["webhook-id"]
                    receiver.acknowledged[message_id] = receiver.acknowledged.get(message_id, 0) + 1
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/utfall"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(refuse=1)
    yield found
    found.close()


def test_a_case_event_is_delivered_signed_retried_after_a_refusal_and_never_acknowledged_twice(
    world: World, receiver: Receiver
) -> None:
    WebhookEndpoint.objects.create(
        municipality=world.municipality, name="ILS-webb", url=receiver.url, secret=SECRET
    )
    case = actions.open_case(request=None, user=world.analyst, provider=world.provider, owner=world.analyst,
                             title="Avvikelse")  # fmt: skip
    message = WebhookMessage.objects.get()
    assert message.event_type == "case.opened" and message.payload["data"]["case"] == case.reference
    out = io.StringIO()
    call_command("webhooks", stdout=out)
    assert "försöks igen senare 1" in out.getvalue()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 1)
    assert message.next_attempt_at > timezone.now() + dt.timedelta(seconds=20)  # back-off
    assert webhooks.deliver_due() == {"delivered": 0, "retry": 0, "failed": 0}  # not due yet
    WebhookMessage.objects.update(next_attempt_at=timezone.now())  # as when the back-off has passed
    assert webhooks.deliver_due()["delivered"] == 1
    message.refresh_from_db()
    assert message.status == "delivered" and message.delivered_at is not None
    WebhookMessage.objects.update(next_attempt_at=timezone.now() - dt.timedelta(hours=1))
    assert webhooks.deliver_due() == {"delivered": 0, "retry": 0, "failed": 0}
    assert receiver.acknowledged == {message.message_id: 1}
    assert [r["valid"] for r in receiver.requests] == [True, True]
    assert {r["headers"]["webhook-id"] for r in receiver.requests} == {message.message_id}  # same id on retry
    assert [(a.status_code, a.acknowledged) for a in message.log.all()] == [(503, False), (204, True)]
    assert receiver.requests[1]["body"]["data"]["provider_id"] == "P1"


def test_a_message_claimed_by_another_run_is_not_sent_again(world: World, receiver: Receiver) -> None:
    receiver.refuse = 0
    WebhookEndpoint.objects.create(
        municipality=world.municipality, name="ILS-webb", url=receiver.url, secret=SECRET
    )
    actions.open_case(
        request=None, user=world.analyst, provider=world.provider, owner=world.analyst, title="A"
    )
    message = WebhookMessage.objects.get()
    now = timezone.now()
    claimed = WebhookMessage.objects.filter(pk=message.pk, next_attempt_at__lte=now).update(
        next_attempt_at=now + dt.timedelta(seconds=webhooks.LEASE_SECONDS)
    )
    assert claimed == 1
    assert webhooks.deliver_one(message.pk) is None
    assert receiver.requests == []


def test_an_unreachable_receiver_is_logged_and_given_up_after_the_last_back_off(world: World) -> None:
    WebhookEndpoint.objects.create(municipality=world.municipality, name="Borta", url="http://127.0.0.1:9/",
                                   secret=SECRET)  # fmt: skip
    actions.open_case(
        request=None, user=world.analyst, provider=world.provider, owner=world.analyst, title="B"
    )
    message = WebhookMessage.objects.get()
    for _ in range(len(webhooks.BACKOFF) + 1):
        WebhookMessage.objects.update(next_attempt_at=timezone.now())
        webhooks.deliver_due()
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == len(webhooks.BACKOFF) + 1
    assert all(a.status_code is None and a.error for a in message.log.all())


def test_a_signature_made_with_another_secret_or_too_old_does_not_verify() -> None:
    body = b'{"type":"case.opened"}'
    now = int(timezone.now().timestamp())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now),
               "webhook-signature": webhooks.sign(SECRET, "msg_1", now, body)}  # fmt: skip
    assert webhooks.verify(SECRET, headers, body)
    assert not webhooks.verify(webhooks.new_secret(), headers, body)
    assert not webhooks.verify(SECRET, headers, body + b" ")
    old = {**headers, "webhook-timestamp": str(now - 3600),
           "webhook-signature": webhooks.sign(SECRET, "msg_1", now - 3600, body)}  # fmt: skip
    assert not webhooks.verify(SECRET, old, body)


def test_the_signature_matches_the_standard_webhooks_reference_example() -> None:
    # The example of the Standard Webhooks specification (standard-webhooks/standard-webhooks).
    signature = webhooks.sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                              1614265330, b'{"test": 2432232314}')  # fmt: skip
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
