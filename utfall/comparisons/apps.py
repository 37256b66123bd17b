from django.apps import AppConfig


class ComparisonsConfig(AppConfig):
    name = "utfall.comparisons"
    verbose_name = "Indikatorer och jämförelser"
