"""Export formats: CSV, XLSX, JSON, NDJSON and Parquet read as all-text chunks, behind
the hostile-input guards, so every later stage sees one shape whatever was sent."""
