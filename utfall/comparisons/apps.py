from django.apps import AppConfig


class ComparisonsConfig(AppConfig):
    name = "utfall.comparisons"
    verbose_name = "Indikatorer och jämförelser"

    def ready(self) -> None:
        from utfall.comparisons.cache import connect_signals
        from utfall.comparisons.history import describe_loss
        from utfall.instruments.services import set_loss_describer

        connect_signals()
        set_loss_describer(describe_loss)
