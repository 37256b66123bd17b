"""gunicorn settings for utfall in production (docs/deploy.md).

Workers are processes with ``UTFALL_THREADS`` threads each (gthread, 2026-12-02): a results
page that takes a second holds one thread, not a whole worker, so submissions are not queued
behind it (issue 13 point 3, docs/performance.md "Load and faults"). Each thread holds at
most one PostgreSQL connection, kept for CONN_MAX_AGE seconds and tested before reuse
(CONN_HEALTH_CHECKS), so the connections are bounded by UTFALL_WORKERS × UTFALL_THREADS.
The application is loaded once in the master and the workers are forked from it
(``preload_app``, with the URLs and the API imported before the fork): a new or recycled worker
answers at once instead of importing utfall first, which took seconds of CPU per worker under
load and stalled the submissions it was given meanwhile. No database connection is opened
before the fork (``when_ready`` closes any). A code update needs a restart, not a HUP.
The access log names the path only, never the query string.
"""

import os

# numpy's BLAS (OpenBLAS) on one thread in every worker, set before the application (and numpy)
# is loaded: the workers serve requests in parallel already (processes × threads), and a BLAS
# thread pool per worker only spun, waiting, beside each request's small matrix products (the O/E
# page's case-mix model and funnel cold at 1M: 222–228 → 178–189 ms CPU; the same bytes,
# docs/performance.md "oe5", docs/decisions.md 2026-12-05). An environment value set here wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

bind = os.environ.get("UTFALL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("UTFALL_WORKERS", "3"))
threads = int(os.environ.get("UTFALL_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("UTFALL_TIMEOUT", "120"))  # an import through the browser, a PDF
graceful_timeout = 30
keepalive = 2  # the reverse proxy may reuse its connection for the next request
preload_app = True
max_requests = 2000  # recycle workers now and then (memory); forked again from the loaded master
max_requests_jitter = 200
limit_request_line = 8190
limit_request_fields = 100
# Only the reverse proxy on this machine may say which scheme and client address it saw.
forwarded_allow_ips = os.environ.get("UTFALL_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss'
wsgi_app = "utfall.wsgi:application"


def when_ready(server: object) -> None:
    """In the master, after the application was loaded and before the first fork: import the
    URL configuration (the views and the API's schemas), and leave no database connection for
    the workers to share."""
    import gc

    from django.db import connections
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every view module
    connections.close_all()
    # The loaded application's objects (about 230,000) move to the permanent generation: a
    # worker's full collection no longer walks them (150 ms in the middle of a results page,
    # now and then), and the forked workers share their pages instead of copying them.
    gc.collect()
    gc.freeze()
