"""The laptop store's parts, one job each; ``sync.store.Store`` owns the connection and the
transactions and delegates to them.

``schema``        tables, versioned migrations, the connection's pragmas
``rows``          JSON columns, timestamps, single-row queries
``credentials``   the operator's session: cached password hash, token, registry address
``roster``        the village roster as pulled, and its search
``outbox``        send states and the one function that moves a record between them
``records``       drafts, queueing, edits, tombstones, attachments, conflicts; the records' public view
``blobs``         attachment bytes addressed by SHA-256, and which still need uploading
``verifications`` remote verification requests as last pulled
``pull``          applying a pull batch (``protocol.PullChange``)
``push_results``  applying a push batch's answers (``protocol.PushResult``)
"""
