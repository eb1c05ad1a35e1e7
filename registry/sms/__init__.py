"""Text messages to residents and cadres (issue 13): the gateway interface here, the adapters and the
outbox beside it. Gateways are not idempotent: what makes a message go out exactly once is the
database outbox (``registry.schema.sms_outbox``), never a retry inside an adapter."""
