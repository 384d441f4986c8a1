"""notify stage (see docs/design.md, Layout): alert delivery channels (webhook, Slack, email, file, TAXII) and
the retrying delivery step.

Imports nothing of ours but ``netsafe``. The composition root builds channels with ``load_channels`` (the YAML file) or
``channels_from_config`` (dicts); the pipeline turns pending alert documents into ``Delivery`` items with
``deliveries_from_docs`` and calls ``deliver``, then records the returned ``DeliveryOutcome`` list in the outbox
(``search.alerting.outbox``).
"""

from notify.config import channels_from_config, default_channels, load_channels
from notify.deliver import Channel, DeliveryOutcome, deliver
from notify.errors import (
    BlockedAddressError,
    ChannelConfigError,
    DeliveryError,
    NotifyError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from notify.file_channel import JsonlFileChannel
from notify.guard import AddressRules
from notify.http_channels import SlackChannel, WebhookChannel, sign
from notify.model import Alert, Delivery, alert_from_doc, deliveries_from_docs
from notify.secret import Secret
from notify.smtp import EmailChannel
from notify.taxii_channel import StixRender, TaxiiChannel

__all__ = [
    "AddressRules",
    "Alert",
    "BlockedAddressError",
    "Channel",
    "ChannelConfigError",
    "Delivery",
    "DeliveryError",
    "DeliveryOutcome",
    "EmailChannel",
    "JsonlFileChannel",
    "NotifyError",
    "PermanentDeliveryError",
    "Secret",
    "SlackChannel",
    "StixRender",
    "TaxiiChannel",
    "TransientDeliveryError",
    "WebhookChannel",
    "alert_from_doc",
    "channels_from_config",
    "default_channels",
    "deliver",
    "deliveries_from_docs",
    "load_channels",
    "sign",
]
