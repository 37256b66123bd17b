from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "utfall.demo"
