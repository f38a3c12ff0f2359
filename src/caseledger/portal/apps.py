from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "caseledger.portal"
    label = "portal"

    def ready(self) -> None:
        # A release carries the statements of disagreement with what it discloses; the
        # disclosures app sits below the portal, so the portal hands it the reader.
        from caseledger.disclosures import disputes

        from .selectors import release_disputes

        disputes.provide(release_disputes)
