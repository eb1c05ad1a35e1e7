// Placeholder: the worker page (issue 11, registry/verification/page/) replaces this.
