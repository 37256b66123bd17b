from django.apps import AppConfig


class AggregatesConfig(AppConfig):
    name = "utfall.aggregates"
    verbose_name = "Underhållna summeringar"

    def ready(self) -> None:
        from utfall.aggregates.maintain import connect_signals

        connect_signals()
