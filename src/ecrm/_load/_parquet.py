"""Parquet files and directories of them (hive-partitioned too), through pyarrow.

A Parquet file holds typed columns, so there is nothing to decode or detect: the table goes
through the same frame conversion as :meth:`~ecrm.OrderLog.from_arrow` (0-based rows in
errors, the file named as the source).
"""

from __future__ import annotations

import os
from typing import Any

from ecrm.errors import InvalidValueError, MissingDependencyError

__all__ = ["read_parquet_table"]


def read_parquet_table(path: str | os.PathLike[str], purpose: str) -> Any:
    """A pyarrow ``Table`` of a Parquet file, or of every Parquet file under a directory.

    A directory is read as a dataset; ``key=value`` folder names (hive partitioning) become
    columns.

    Args:
        path: a ``.parquet`` file or a directory.
        purpose: the caller, named when pyarrow is missing.

    Raises:
        MissingDependencyError: pyarrow is not installed (the ``arrow`` extra).
        InvalidValueError: the path is not a Parquet file or a directory holding them.
        OSError: the path does not exist.
    """
    try:
        import pyarrow as pa
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingDependencyError.for_extra("pyarrow", "arrow", purpose) from None
    source = os.fspath(path)
    if not os.path.exists(source):
        raise FileNotFoundError(2, "No such file or directory", source)
    try:
        if os.path.isdir(source):
            dataset = ds.dataset(source, format="parquet", partitioning="hive")
            if not dataset.files:
                raise InvalidValueError(source, "must hold at least one Parquet file", source,
                                        show_value=False)
            return dataset.to_table()
        return pq.read_table(source)
    except (pa.ArrowInvalid, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise InvalidValueError(source, f"must be a Parquet file ({exc})", source,
                                show_value=False) from None
