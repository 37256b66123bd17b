from django.apps import AppConfig


class InstrumentsConfig(AppConfig):
    name = "utfall.instruments"
    verbose_name = "Frågeformulär (instrument)"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from utfall.instruments.access import ensure_permission
        from utfall.instruments.loading import load_shipped_instruments

        # After the registry so that the services an instrument names exist.
        post_migrate.connect(load_shipped_instruments, sender=self)
        post_migrate.connect(ensure_permission, sender=self)
