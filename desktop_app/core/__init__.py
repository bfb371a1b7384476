"""Pure domain code: money, claims, policy packs and the settlement engine.

Nothing in this package may import Qt (PySide6) or SQL (sqlalchemy); a test checks it.
"""
