"""Camera sources, faces, quality checks, card photos, face templates and the liveness engine. No Qt."""

import os

# One BLAS thread wherever faces are computed (the registry's checks and remote verification, the
# app's analyser): with two threads on a 2-core machine under load one descriptor took 230-700 ms,
# with one 25-35 ms. Effective only if NumPy is not imported yet; desktop/ sets it first for the app.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
