"""Source exports -> FOCUS 1.2. Pure functions: a file goes in, FOCUS Parquet comes out."""
