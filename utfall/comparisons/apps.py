from django.apps import AppConfig


class ComparisonsConfig(AppConfig):
    name = "utfall.comparisons"
    verbose_name = "Indikatorer och jämförelser"

    def ready(self) -> None:
        from utfall.comparisons.cache import connect_signals

        connect_signals()
