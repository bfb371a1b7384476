"""Folders the program reads at run time, relative to the project (or bundle) root.

The PyInstaller spec bundles exactly these; a test fails when code loads a
folder that is not listed here (so the bundle cannot forget a new resource).
"""

RUNTIME_DIRS = (
    "resources/policy_packs",  # shipped policy packs (core/pack_files.py: shipped_packs_dir)
    "db",  # Alembic migrations run at start-up (store/db.py: MIGRATIONS)
    "resources/trusted_keys",  # public keys whose pack signatures are accepted (core/signing.py)
)
