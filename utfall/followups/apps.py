from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "utfall.followups"
    verbose_name = "Individuppföljningar"

    def ready(self) -> None:
        from utfall.followups.catalogues import connect_signals

        connect_signals()
