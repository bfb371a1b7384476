"""Use cases shared by the GUI and the CLI.

They take ids and plain values and return plain dataclasses — never live ORM objects.
"""
