"""The laptop's part of remote verification (docs/verification-api.md): the state of a resident's
latest request as last pulled, worded for the roster."""
