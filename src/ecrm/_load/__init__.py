"""The one loading layer: CSV files, Parquet files and data frames in, plain columns out.

Modules:

* :mod:`._spec` — the column spec of each table (:class:`CsvColumns` for orders and order
  lines, :data:`CUSTOMERS`, :data:`EVENTS`) and :class:`LoadInfo`, what a load decided;
* :mod:`._text` — opening a file (path, ``-``, ``.gz``, ``.zip``), detecting its encoding and
  counting its true physical lines;
* :mod:`._csv` — the one streaming CSV reader, with the python and arrow engines;
* :mod:`._problems` — the one problem collector (file, line, column, value, rule; capped);
* :mod:`._cells` — the cell parsers: ids, money (fen / yuan / auto), instants (one parser for
  files and ``--as-of``), coded enums (statuses, event kinds …);
* :mod:`._idcodes` — customer ids coded chunk by chunk (never a column of id text);
* :mod:`._grow` — a numeric column filled chunk by chunk into one buffer sized from the file;
* :mod:`._orders`, :mod:`._tables` — orders, customers and events from CSV;
* :mod:`._frames`, :mod:`._parquet` — pandas, polars, pyarrow and Parquet.

Dependency direction (no cycle, not even through imports inside functions): the loaders
import only the low modules (errors, time, money, order statuses, column checkers) and never
the model tables. The tables (:class:`~ecrm.OrderLog`, :class:`~ecrm.CustomerTable`,
:class:`~ecrm.EventLog`) import the loaders: each ``from_csv`` / ``from_parquet`` /
``from_pandas`` … is a thin forward that asks a loader for plain columns and hands them to the
table's own builder. Where a loader needs something only the model knows (a frame's columns
validated by ``from_arrays``, the text of an event kind), the table passes it in as a
callable. ``ecrm.read_orders_csv`` (in :mod:`ecrm._io`) sits above both.

This ``__init__`` imports nothing, so the low module :mod:`ecrm._columns` can use the
collector without loading the readers.
"""
