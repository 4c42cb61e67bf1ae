"""Request records and what is made of them: Parquet/CSV files, exact summaries, run results.

A leaf package (stdlib, pyarrow and pydantic only): the load engine writes records through it
and the analysis side reads them, without either importing the other.
"""

from endpointlab.results.records import CSV_COLUMNS, RequestRecord
from endpointlab.results.store import RecordWriter, read_records, write_csv, write_parquet
from endpointlab.results.summary import Summary, percentile, summarize

__all__ = [
    "CSV_COLUMNS",
    "RecordWriter",
    "RequestRecord",
    "Summary",
    "percentile",
    "read_records",
    "summarize",
    "write_csv",
    "write_parquet",
]
