from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "utfall.registry"
    verbose_name = "Register: utförare, avtal, insatser"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from utfall.registry.catalogue import load_shipped_catalogue

        post_migrate.connect(load_shipped_catalogue, sender=self)
