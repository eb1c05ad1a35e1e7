"""Remote verification for residents who work away (issue 11; the contract: docs/verification-api.md).

A cadre (or central staff) creates a request; the registry makes a single-use link whose token it
keeps only as a SHA-256; the worker unlocks it on their phone with the last 6 ID characters, agrees
to the consent text, and runs a server-drawn challenge while the page uploads small JPEG frames; the
liveness engine (``capture/liveness``, behind ``engine``) decides; a failure or a link that runs out
becomes a finding on the resident's record. One job per module:

``tokens``         the token, its hash, the link, the QR code (SVG) and the SMS text
``request_store``  requests: create, read, list, state moves (pull counter + audit), lazy expiry
``findings``       the verification_failed / verification_manual finding on the resident's record
``sessions``       unlock by the ID digits (throttled), the page's session, consent
``challenge``      the drawn steps and their deadlines; the frame limits the page is told
``attempts``       an attempt: start, frame upload, replay check, finish (the decision)
``reference``      the descriptor to match against: the reference photo, else the enrolled template
``engine``         the adapter to ``capture.liveness`` (imported lazily)
``evidence``       evidence frames for staff; the purge after the retention
``video``          the offline video path: a cadre's clip decided as an attempt (replay, digits, counting)
``sweeper``        the server's thread that moves expired requests
``routes``         the public routes (``/verify``, ``/api/verify/*``) and ``serve-verify``'s app
``staff_routes``   ``/api/verifications`` for the laptops and staff (bearer token)
``page/``          the worker's page (static files)
"""
