from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.instruments.helpers import INSTRUMENTS
from tests.personas import World
from utfall.core.services import create_api_token
from utfall.instruments.models import QuestionFeedback

pytestmark = pytest.mark.django_db


def test_it_takes_a_target_group_instrument_and_pilot_feedback_through_the_api(
    client: Client, world: World
) -> None:
    token = create_api_token(user=world.caseworker, name="test")
    body = {
        "intervention_id": "I-OVERDUE",
        "instrument": "children-youth-2026@1",
        "respondent": "client",
        "status": "completed",
        "answers": INSTRUMENTS["children-youth-2026"][2],
        "assessment": "approved",
        "hard_to_understand": ["cy_school", "q1"],  # q1 is not in the instrument: ignored
    }
    response = client.post(
        "/api/v1/followups",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k-feedback"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["instrument"] == "children-youth-2026@1"
    feedback = QuestionFeedback.objects.get()
    assert feedback.question.code == "cy_school" and feedback.municipality == world.municipality
