"""Database layer: SQLAlchemy 2.0 models, connection setup, migrations (in `db/`)."""
