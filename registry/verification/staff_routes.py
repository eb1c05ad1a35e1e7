"""``/api/verifications`` for the laptops and central staff (bearer token; main registry only).

A cadre creates requests for residents of their villages (on the roster or enrolled) and lists their
villages' requests; central staff and admins for any village, and only they read evidence frames
(each read audited). Only a village's cadres send a clip for a request (the offline video path,
``video``); staff review it. The laptops also receive requests in the pull (kind ``verification``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from enrollment.id_number import FORMAT_PATTERN as ID_NUMBER_FORMAT
from enrollment.vocabulary import VerificationState
from sync import protocol

from .. import openapi as api_description
from ..clock import Clock
from ..config import Settings
from ..request_auth import Auth
from ..review import require_staff
from . import detail, evidence, request_store, video


class VideoAttempt(BaseModel):
    model_config = ConfigDict(strict=True)

    clip_sha256: str = Field(pattern="^[0-9a-f]{64}$")
    digits_heard: bool


class CreateRequest(BaseModel):
    model_config = ConfigDict(strict=True)

    id_number: str = Field(pattern=ID_NUMBER_FORMAT)
    city: str | None = Field(default=None, max_length=100)


def register(app: FastAPI, engine: Engine, settings: Settings, clock: Clock) -> None:
    """Add the staff and laptop routes to ``app``."""
    r = app

    @r.post(protocol.VERIFICATIONS, summary="Create a verification request: its link, QR code and SMS text "
                                            "(the token is shown once)")
    def create(body: CreateRequest, session: Auth) -> dict[str, Any]:
        return request_store.create(engine, session.operator, body.id_number, body.city, settings=settings,
                                    clock=clock).to_dict()

    @r.get(protocol.VERIFICATIONS, summary="Verification requests of your villages (staff: all), newest first")
    def list_all(session: Auth, state: Annotated[VerificationState | None, Query(
            json_schema_extra=api_description.enum_of(VerificationState))] = None) -> dict[str, Any]:
        return {"verifications": request_store.list_requests(engine, session.operator, state=state, clock=clock)}

    @r.post(protocol.VERIFICATION_VIDEO, summary="A cadre's clip for the request (the offline video path): the "
                                                 "registry decides it as an attempt")
    def video_attempt(body: VideoAttempt, session: Auth, request: Request,
                      verification: Annotated[str, PathParam(alias="request", max_length=36)]) -> dict[str, Any]:
        return video.submit(engine, request.app.state.liveness, session.operator, verification, body.clip_sha256,
                            body.digits_heard, clock=clock)

    @r.get(protocol.VERIFICATION, summary="One request with every attempt's decision (checks, reasons, scores, "
                                          "evidence frame numbers; no images)")
    def read_one(session: Auth, request: Annotated[str, PathParam(max_length=36)]) -> dict[str, Any]:
        return detail.read(engine, session.operator, request)

    @r.get(protocol.VERIFICATION_EVIDENCE, summary="A kept evidence frame (JPEG; staff only, audited)",
           response_class=Response)
    def evidence_frame(session: Auth, attempt: Annotated[str, PathParam(max_length=36)],
                       seq: Annotated[int, PathParam(ge=0, le=100_000)]) -> Response:
        require_staff(session.operator)
        return Response(evidence.read(engine, session.operator, attempt, seq), media_type="image/jpeg")

