"""The schemathesis hook drops the tool's false alarm about re-added auth headers, and nothing else."""

from __future__ import annotations

from schemathesis.core.mutations import Mutation, MutationChannel, OperatorKind
from schemathesis.core.parameters import ParameterLocation

from tests.registry.schemathesis_hooks import sent_request_was_valid

TOKEN = "tok3n"
REQUIRED = ["X-Yikatong-Protocol", "Authorization"]


def _mutation(operator=OperatorKind.NEGATE_CONSTRAINTS, keywords=("required",), location=ParameterLocation.HEADER,
              parameter=None, original=REQUIRED) -> Mutation:
    return Mutation(path=(), parameter_location=location, schema_pointer="", channel=MutationChannel.SCHEMA,
                    operator=operator, keywords=keywords, parameter=parameter, original_value=original,
                    new_value=None)


def _sent(**overrides) -> dict[str, str]:
    headers = {"X-Yikatong-Protocol": "6", "Authorization": f"Bearer {TOKEN}", "a": "WMFZ/eK"}
    headers.update(overrides)
    return {k: v for k, v in headers.items() if v is not None}


def test_required_negation_with_every_header_sent_valid_is_a_false_alarm():
    """The case seen in CI (both headers re-added by schemathesis, valid) is recognised as valid when sent."""
    assert sent_request_was_valid([_mutation()], _sent(), TOKEN)


def test_header_names_compare_case_insensitively():
    """A header sent as x-yikatong-protocol is the same header as X-Yikatong-Protocol."""
    sent = {"x-yikatong-protocol": "6", "authorization": f"Bearer {TOKEN}"}
    assert sent_request_was_valid([_mutation(operator=OperatorKind.REMOVE_REQUIRED_PROPERTY,
                                             parameter="X-Yikatong-Protocol", original=None)], sent, TOKEN)


def test_a_header_really_left_out_keeps_the_failure():
    """When the version header or the token did not reach the registry, a 200 is a real failure."""
    assert not sent_request_was_valid([_mutation()], _sent(**{"X-Yikatong-Protocol": None}), TOKEN)
    assert not sent_request_was_valid([_mutation()], _sent(Authorization=None), TOKEN)


def test_a_bad_value_keeps_the_failure():
    """Another token or a version the registry does not speak is not the configured, valid request."""
    assert not sent_request_was_valid([_mutation()], _sent(Authorization="Bearer other"), TOKEN)
    assert not sent_request_was_valid([_mutation()], _sent(**{"X-Yikatong-Protocol": "7"}), TOKEN)
    assert not sent_request_was_valid([_mutation()], _sent(**{"X-Yikatong-Protocol": "six"}), TOKEN)


def test_other_mutations_keep_the_failure():
    """A negated value, a query mutation, or no recorded mutation at all is never dropped."""
    assert not sent_request_was_valid([_mutation(keywords=("maximum",))], _sent(), TOKEN)
    assert not sent_request_was_valid([_mutation(keywords=("required", "properties"))], _sent(), TOKEN)
    assert not sent_request_was_valid([_mutation(location=ParameterLocation.QUERY)], _sent(), TOKEN)
    assert not sent_request_was_valid([_mutation(), _mutation(operator=OperatorKind.CHANGE_TYPE, keywords=("type",))],
                                      _sent(), TOKEN)
    assert not sent_request_was_valid([], _sent(), TOKEN)


def test_the_hook_drops_only_the_false_alarm(monkeypatch):
    """filter_failure, called as schemathesis calls it, drops the CI case and keeps a real missing header and
    any other kind of failure."""
    from types import SimpleNamespace

    from schemathesis.core.failures import AcceptedNegativeData, ServerError

    from tests.registry.schemathesis_hooks import TOKEN_VARIABLE, filter_failure

    monkeypatch.setenv(TOKEN_VARIABLE, TOKEN)
    case = SimpleNamespace(meta=SimpleNamespace(phase=SimpleNamespace(data=SimpleNamespace(mutations=(_mutation(),)))))
    accepted = AcceptedNegativeData(operation="GET /api/payments/dashboard", message="Invalid data should have "
                                    "been rejected", status_code=200, expected_statuses=["400"])

    def sent(headers):
        return SimpleNamespace(request=SimpleNamespace(headers=headers))

    assert filter_failure(None, accepted, case, sent(_sent())) is False
    assert filter_failure(None, accepted, case, sent(_sent(Authorization=None))) is True
    assert filter_failure(None, ServerError(operation="GET /x", status_code=500), case, sent(_sent())) is True
