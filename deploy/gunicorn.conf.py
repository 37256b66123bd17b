"""gunicorn settings for utfall in production (docs/deploy.md).

Workers are processes with ``UTFALL_THREADS`` threads each (gthread, 2026-12-02): a results
page that takes a second holds one thread, not a whole worker, so submissions are not queued
behind it (issue 13 point 3, docs/performance.md "Load and faults"). Each thread holds at
most one PostgreSQL connection, kept for CONN_MAX_AGE seconds and tested before reuse
(CONN_HEALTH_CHECKS), so the connections are bounded by UTFALL_WORKERS × UTFALL_THREADS.
The access log names the path only, never the query string.
"""

import os

bind = os.environ.get("UTFALL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("UTFALL_WORKERS", "3"))
threads = int(os.environ.get("UTFALL_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("UTFALL_TIMEOUT", "120"))  # an import through the browser, a PDF
graceful_timeout = 30
keepalive = 2  # the reverse proxy may reuse its connection for the next request
max_requests = 2000  # recycle workers now and then (memory)
max_requests_jitter = 200
limit_request_line = 8190
limit_request_fields = 100
# Only the reverse proxy on this machine may say which scheme and client address it saw.
forwarded_allow_ips = os.environ.get("UTFALL_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)ss'
wsgi_app = "utfall.wsgi:application"
