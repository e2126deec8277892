"""Results store: Parquet files per chunk plus a DuckDB catalogue over them."""

from .store import Store, StoreError

__all__ = ["Store", "StoreError"]
