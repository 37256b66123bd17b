from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "utfall.followups"
    verbose_name = "Individuppföljningar"
