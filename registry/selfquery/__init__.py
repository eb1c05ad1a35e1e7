"""The residents' self-query page (issue 13, item 6): served by the public process only; see docs/payments/self-query-and-notice.md."""
