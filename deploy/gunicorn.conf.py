"""gunicorn settings for utfall in production (docs/deploy.md).

Workers are processes with one thread each, so the number of PostgreSQL connections is
bounded by UTFALL_WORKERS (each worker holds at most one, kept for CONN_MAX_AGE seconds).
The access log names the path only, never the query string.
"""

import os

bind = os.environ.get("UTFALL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("UTFALL_WORKERS", "3"))
threads = 1
worker_class = "sync"
timeout = int(os.environ.get("UTFALL_TIMEOUT", "120"))  # an import through the browser, a PDF
graceful_timeout = 30
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
