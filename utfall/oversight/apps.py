from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "utfall.oversight"
    verbose_name = "Avvikelser och fördjupad uppföljning"
