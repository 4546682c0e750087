"""Database: typed models, engine and sessions, schema checks."""
