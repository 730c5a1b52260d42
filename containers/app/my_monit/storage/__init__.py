"""Database access: the connection pool, the queries, and schema upgrades."""

from my_monit.storage.connector import StorageConfiguration, StorageConnector
from my_monit.storage.storage import MeasureCursor, MeasureRow, Storage

__all__ = ["MeasureCursor", "MeasureRow", "Storage", "StorageConfiguration", "StorageConnector"]
