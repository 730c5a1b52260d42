"""The AMQP side of MyMONIT: consume measure messages and store them in batches."""

from my_monit.messaging.configuration import RabbitConfiguration
from my_monit.messaging.connector import RabbitConnector
from my_monit.messaging.health import HealthServer, Metrics
from my_monit.messaging.listener import RabbitListener
from my_monit.messaging.processor import RabbitMessageProcessor
from my_monit.messaging.writer import BatchWriter

__all__ = [
    "BatchWriter",
    "HealthServer",
    "Metrics",
    "RabbitConfiguration",
    "RabbitConnector",
    "RabbitListener",
    "RabbitMessageProcessor",
]
