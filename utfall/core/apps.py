from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "utfall.core"
    verbose_name = "Grund"
