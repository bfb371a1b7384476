from tests.store.conftest import db, empty_db, template_db  # noqa: F401  (shared fixtures)
