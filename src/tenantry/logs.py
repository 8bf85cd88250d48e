"""Logging for every process the ``tenantry`` command starts (server workers included)."""

import logging

from tenantry.settings import Settings


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
