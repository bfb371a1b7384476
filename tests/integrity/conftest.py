import gzip
import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def v1_db_path(tmp_path):
    """A copy of a database written by the code before digest version 2 (see data/README.md)."""
    path = tmp_path / "v1.sqlite3"
    with gzip.open(DATA / "v1.sqlite3.gz", "rb") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return path
