from django.apps import AppConfig


class OrganisationsConfig(AppConfig):
    name = "utfall.organisations"
    verbose_name = "Organisation och behörighet"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from utfall.organisations.setup import ensure_defaults

        post_migrate.connect(ensure_defaults, sender=self)
