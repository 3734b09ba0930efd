"""Reports built only from a run's Parquet tables: leaderboards (md/csv/html/tex), figures, index.html."""
from bench.report.build import build_report

__all__ = ["build_report"]
