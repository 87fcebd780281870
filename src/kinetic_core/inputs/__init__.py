"""Load input, the ground floor of every load: what an input is and what its values mean.

* :mod:`kinetic_core.inputs.adapter`: the one adapter (CSV path, file object, iterable of dicts,
  pandas/polars DataFrame, Arrow table) shared by Bulk API 2.0 jobs, the router and pipelines, and
  :data:`LoadInput`, the type of what it accepts;
* :mod:`kinetic_core.inputs.normalise`: one meaning for every value, whatever API carries it.
"""

from kinetic_core.inputs.adapter import (
    ArrowTable,
    InputKind,
    LoadInput,
    PandasFrame,
    PolarsFrame,
    ReadableFile,
    frame_column_names,
    frame_columns,
    frame_index_labels,
    frame_kind,
    frame_length,
    frame_records,
    frame_rows,
    input_kind,
    is_dataframe,
    is_file_object,
    nest,
    spool_file_object,
)

__all__ = [
    "ArrowTable",
    "InputKind",
    "LoadInput",
    "PandasFrame",
    "PolarsFrame",
    "ReadableFile",
    "frame_column_names",
    "frame_columns",
    "frame_index_labels",
    "frame_kind",
    "frame_length",
    "frame_records",
    "frame_rows",
    "input_kind",
    "is_dataframe",
    "is_file_object",
    "nest",
    "spool_file_object",
]
