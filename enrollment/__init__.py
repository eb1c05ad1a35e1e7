"""The shared domain: residents, households, enrollment records and the rules for their fields.

Both the laptop (``sync``, ``desktop``) and the registry import this package; it imports
nothing of ours and no Qt. It raises :class:`enrollment.errors.DomainError` with stable
codes; wording for people lives in ``desktop/`` (and the API sends the code).
"""
