"""The API description a real registry serves at /openapi.json is exact, and JSON bodies are typed strictly."""

from __future__ import annotations

import re

import httpx
import pytest
from regkit import item, payload, sha256

from enrollment.vocabulary import Action, FindingKind, Light, ReviewState
from registry import openapi
from sync import protocol

METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture
def schema(shared) -> dict:
    r = httpx.get(shared.url + "/openapi.json")
    assert r.status_code == 200
    return r.json()


def operations(schema: dict) -> dict[tuple[str, str], dict]:
    return {(method, path): op for path, item in schema["paths"].items()
            for method, op in item.items() if method in METHODS}


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def parameter(op: dict, name: str) -> dict:
    (found,) = [p for p in op.get("parameters", []) if p["name"] == name]
    return found


def enum_in(schema: dict, node: dict) -> list[str]:
    """The enum a (possibly nullable, possibly array) schema node allows."""
    node = resolve(schema, node)
    if "anyOf" in node:
        (node,) = [resolve(schema, n) for n in node["anyOf"] if n.get("type") != "null"]
    if node.get("type") == "array":
        node = resolve(schema, node["items"])
    return node["enum"]


def test_every_route_has_its_row_of_errors(schema):
    """Every operation the registry serves has its row in registry.openapi.ERRORS, and no row names a gone route."""
    assert set(operations(schema)) == set(openapi.ERRORS)
    assert openapi.PUBLIC <= set(openapi.ERRORS)


def test_bearer_on_every_route_but_health_and_login(schema):
    """The HTTP bearer scheme is declared and required by every operation except health, login and the
    worker's verification page and its API (whose link token is the credential)."""
    scheme = schema["components"]["securitySchemes"][openapi.BEARER]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for key, op in operations(schema).items():
        if key in openapi.PUBLIC:
            assert "security" not in op, key
        else:
            assert op["security"] == [{openapi.BEARER: []}], key
            assert {"401", "403"} <= set(op["responses"]), key


def test_protocol_header_on_every_route_but_health(schema):
    """Every operation but health and the worker's verification page and API requires X-Yikatong-Protocol
    (an integer in the supported range) and declares 426."""
    for (method, path), op in operations(schema).items():
        names = [p["name"] for p in op.get("parameters", [])]
        if path == protocol.HEALTH or (method, path) in openapi.VERIFY_PUBLIC:
            assert protocol.VERSION_HEADER not in names and "426" not in op["responses"]
            continue
        header = parameter(op, protocol.VERSION_HEADER)
        assert header["in"] == "header" and header["required"] is True
        assert header["schema"] == {"type": "integer", "minimum": protocol.MIN_PROTOCOL_VERSION,
                                    "maximum": protocol.PROTOCOL_VERSION}
        assert "426" in op["responses"], (method, path)


def test_every_error_answer_has_the_one_error_shape(schema):
    """Every non-200 answer is declared with the Error component, whose fields are those of sync.protocol.error_body."""
    error = schema["components"]["schemas"]["Error"]
    detail = resolve(schema, error["properties"]["error"])
    shape = protocol.error_body("c", "m")["error"]
    assert error["required"] == ["error"] and sorted(detail["required"]) == sorted(shape)
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for key, op in operations(schema).items():
        statuses = sorted(op["responses"])
        assert statuses == sorted(["200", *map(str, openapi.ERRORS[key])]), key
        for status, answer in op["responses"].items():
            if status != "200":
                assert answer["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    ops = operations(schema)
    assert "429" in ops[("post", protocol.LOGIN)]["responses"]
    assert "Retry-After" in ops[("post", protocol.LOGIN)]["responses"]["429"]["headers"]
    assert {"400", "413", "422"} <= set(ops[("post", protocol.PUSH)]["responses"])
    assert {"404", "409"} <= set(ops[("post", protocol.REVIEW_DECISION)]["responses"])
    assert "503" in ops[("get", protocol.REVIEW_REPORT_PDF)]["responses"]


def test_vocabulary_enums_are_the_vocabulary(schema):
    """light, state, kind and action are enums equal to enrollment.vocabulary's, in queries, bodies and answers."""
    ops = operations(schema)
    queue = ops[("get", protocol.REVIEW_QUEUE)]
    assert enum_in(schema, parameter(queue, "light")["schema"]) == list(Light)
    assert enum_in(schema, parameter(queue, "state")["schema"]) == list(ReviewState)
    assert enum_in(schema, parameter(queue, "kind")["schema"]) == list(FindingKind)
    findings = ops[("get", protocol.REVIEW_FINDINGS)]
    assert enum_in(schema, parameter(findings, "kind")["schema"]) == list(FindingKind)
    assert enum_in(schema, parameter(findings, "status")["schema"]) == ["open", "resolved", "superseded"]
    decision = schema["components"]["schemas"]["DecisionRequest"]
    assert decision["properties"]["action"]["enum"] == list(Action)
    item = schema["components"]["schemas"]["QueueItem"]["properties"]
    assert enum_in(schema, item["light"]) == list(Light) and enum_in(schema, item["state"]) == list(ReviewState)


def test_sha256_pattern_on_blob_names_and_content_hashes(schema):
    """A blob's path name, a blob status entry and a push item's content hash carry the lower-case SHA-256 pattern."""
    ops = operations(schema)
    patterns = [parameter(ops[(m, protocol.BLOB)], "sha256")["schema"]["pattern"] for m in ("get", "put")]
    components = schema["components"]["schemas"]
    patterns += [components["BlobRef"]["properties"]["sha256"]["pattern"],
                 components["PushItem"]["properties"]["content_hash"]["pattern"]]
    assert patterns == [openapi.SHA256_PATTERN] * 4
    assert re.fullmatch(openapi.SHA256_PATTERN, sha256(b"x"))
    assert not re.fullmatch(openapi.SHA256_PATTERN, sha256(b"x").upper())


def test_files_are_described_as_files(schema):
    """The reports are text/csv and application/pdf, a blob's bytes application/octet-stream, none of them JSON."""
    ops = operations(schema)
    media = {path: list(ops[("get", path)]["responses"]["200"]["content"])
             for path in (protocol.REVIEW_REPORT_CSV, protocol.REVIEW_REPORT_PDF, protocol.BLOB)}
    assert media == {protocol.REVIEW_REPORT_CSV: ["text/csv"], protocol.REVIEW_REPORT_PDF: ["application/pdf"],
                     protocol.BLOB: ["application/octet-stream"]}
    assert list(ops[("put", protocol.BLOB)]["requestBody"]["content"]) == ["application/octet-stream"]


def test_json_answers_have_their_schemas(schema):
    """Every JSON 200 answer names its component schema (no free-form object)."""
    for key, op in operations(schema).items():
        if key in openapi.FILES:
            continue
        ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.rsplit("/", 1)[1] in schema["components"]["schemas"], key


def _refusal(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == protocol.E_INVALID and error["field"] == field


def test_json_bodies_are_typed_strictly(shared):
    """0 for false, false for a count or a size, "1" for an integer: each a 422 request.invalid naming the field."""
    cadre = shared.login("cadre_a")
    tombstone = {"record_id": "00000000-0000-4000-8000-000000000000", "base_version": 1, "payload": None,
                 "content_hash": protocol.record_hash(None, True, "00000000-0000-4000-8000-000000000000")}
    push = {"device_id": cadre.device_id}
    _refusal(cadre.post(protocol.PUSH, json={**push, "records": [{**tombstone, "deleted": 0}]}), "records.0.deleted")
    _refusal(cadre.post(protocol.PUSH, json={**push, "records": [{**tombstone, "deleted": True,
                                                                   "base_version": "1"}]}),
             "records.0.base_version")
    _refusal(cadre.post(protocol.DIGEST, json={"digest": "0", "count": False}), "count")
    _refusal(cadre.post(protocol.BLOB_STATUS, json={"blobs": [{"sha256": sha256(b"x"), "size": False}]}),
             "blobs.0.size")
    # The same bodies with their proper types pass validation.
    assert cadre.post(protocol.PUSH, json={**push, "records": [{**tombstone, "deleted": True}]}).status_code == 200
    assert cadre.post(protocol.DIGEST, json={"digest": "0", "count": 0}).status_code == 200
    assert cadre.post(protocol.BLOB_STATUS, json={"blobs": [{"sha256": sha256(b"x"), "size": 1}]}).status_code == 200
    cadre.close()


def test_method_not_allowed_names_every_method_of_the_path(shared):
    """A 405's Allow lists every method of the path: GET and PUT for a blob (schemathesis found PUT alone), POST alone for
    /api/blobs/status."""
    cadre = shared.login("cadre_a")
    r = cadre.http.request("OPTIONS", shared.url + protocol.BLOB.format(sha256=sha256(b"x")), headers=cadre.headers())
    assert r.status_code == 405 and r.json()["error"]["code"] == protocol.E_METHOD
    assert {m.strip() for m in r.headers["Allow"].split(",")} >= {"GET", "PUT"}
    # A concrete path is not its templated neighbour: /api/blobs/status is POST alone.
    r = cadre.http.request("OPTIONS", shared.url + protocol.BLOB_STATUS, headers=cadre.headers())
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    cadre.close()


def test_real_answers_match_their_described_schemas(shared):
    """A pushed record's queue entry, full view, red warning, the findings and the dashboard parse as their documented
    answers (strictly, as JSON), so the description follows the code."""
    cadre, central = shared.login("cadre_a"), shared.login("central")
    record = payload(61)
    assert cadre.push_one(item(record))["status"] == protocol.ACCEPTED
    answers = {
        ("get", protocol.REVIEW_QUEUE): central.get(protocol.REVIEW_QUEUE, params={"state": list(ReviewState)}),
        ("get", protocol.REVIEW_RECORD): central.get(protocol.REVIEW_RECORD.format(record_id=record["record_id"])),
        ("get", protocol.REVIEW_WARNINGS): central.get(protocol.REVIEW_WARNINGS, params={"at": "2100-01-01T00:00:00Z"}),
        ("get", protocol.REVIEW_FINDINGS): central.get(protocol.REVIEW_FINDINGS),
        ("get", protocol.REVIEW_DASHBOARD): central.get(protocol.REVIEW_DASHBOARD),
        ("get", protocol.PULL): cadre.get(protocol.PULL),
        ("get", protocol.ME): cadre.get(protocol.ME),
    }
    for key, r in answers.items():
        assert r.status_code == 200, (key, r.text)
        openapi.ANSWERS[key].model_validate_json(r.content, strict=True)
    warned = answers[("get", protocol.REVIEW_WARNINGS)].json()["items"]
    assert record["record_id"] in {w["record_id"] for w in warned}
    cadre.close()
    central.close()
