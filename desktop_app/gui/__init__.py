"""The clerk's desktop program (PySide6). Screens never touch the database: they call
services through `ops.Ops`, and results come back by signal on the GUI thread."""
