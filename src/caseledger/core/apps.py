from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "caseledger.core"
    label = "core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from .dbsession import configure_session

        connection_created.connect(configure_session, dispatch_uid="caseledger-db-session")
