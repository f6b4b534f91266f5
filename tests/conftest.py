"""Under pytest-xdist (``-n 2``) each worker runs torch on one thread: two workers on two
cores, never four threads fighting for them."""

import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
