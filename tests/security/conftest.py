import os

from tests.personas import world  # noqa: F401

# Dropping the server's database connection needs a database server: the test is collected on
# the PostgreSQL run only (a skip would fail CI, which runs every collected test).
collect_ignore = [] if "postgres" in os.environ.get("DATABASE_URL", "") else ["test_database_restart.py"]
