from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "utfall.core"
    verbose_name = "Grund"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from utfall.core import middleware, sqlite  # noqa: F401 - middleware's sign-in receiver

        connection_created.connect(sqlite.on_connect, dispatch_uid="utfall.core.sqlite")
