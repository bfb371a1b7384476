"""A counter on PostgreSQL when another holds the person too long (busy) or its connection is cut (the server
restarted, the cable pulled): a clear Chinese message, exit 4, and nothing half-written."""

import json
import subprocess
import sys
import time

import psycopg
from sqlalchemy import func, select

from desktop_app.services import audit, demo
from desktop_app.store import models as m
from desktop_app.store.db import open_db
from tests.cli_run import ROOT, env_for
from tests.conftest import TODAY
from tests.pgcluster import PASSWORD, SUPERUSER


def _setup(url, tmp_path):
    db = open_db(url)
    demo.create_demo(db, persons=20, today=TODAY)
    with db.read() as s:
        psn = s.execute(select(m.Person.psn_no).where(m.Person.insutype == "390", m.Person.admdvs == "141102")
                        .order_by(m.Person.psn_no).limit(1)).scalar_one()
    visit = tmp_path / "v.json"
    visit.write_text(json.dumps({"psn_no": psn, "date": TODAY.isoformat(), "benefit": "general_outpatient",
                                 "items": [{"code": "X1", "qty": "1", "price": "110.00", "kind": "service",
                                            "chrgitm_lv": "01"}]}), encoding="utf-8")
    return db, psn, visit


def _holder(cluster, dbname, psn):
    """Another counter in the middle of its settlement of `psn`: holds the person's row."""
    con = psycopg.connect(host="127.0.0.1", port=cluster.port, user=SUPERUSER, password=PASSWORD, dbname=dbname)
    con.execute("SELECT psn_no FROM person WHERE psn_no = %s FOR UPDATE", (psn,))
    return con


def _settle(url, visit, **env):
    return subprocess.Popen([sys.executable, "-m", "desktop_app", "settle", str(visit), "--json"], cwd=ROOT,
                            env=env_for("clerk", CLINIC_SETTLE_DB=url, **env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)


def _count(db):
    with db.read() as s:
        return (s.execute(select(func.count()).select_from(m.Settlement)).scalar(),
                s.execute(select(func.count()).select_from(m.SetlCounter)).scalar())


def test_a_person_held_longer_than_the_busy_timeout_is_busy_and_nothing_is_written(pg_url, pg_cluster, tmp_path):
    db, psn, visit = _setup(pg_url, tmp_path)
    holder = _holder(pg_cluster, pg_url.rsplit("/", 1)[1], psn)
    try:
        p = _settle(pg_url, visit, CLINIC_SETTLE_BUSY_TIMEOUT_MS="800")
        out, err = p.communicate(timeout=60)
    finally:
        holder.rollback()
        holder.close()
    error = json.loads(out)["error"]
    assert p.returncode == 4 and error["code"] == "database_busy" and "没有写入任何数据" in error["message"], out + err
    assert _count(db) == (0, 0)
    p = _settle(pg_url, visit)  # the retry, once the other counter is done, settles
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, out + err
    assert _count(db) == (1, 1) and audit.verify(db, actor="admin").ok
    db.dispose()


def test_a_connection_cut_mid_settlement_writes_nothing(pg_url, pg_cluster, tmp_path):
    db, psn, visit = _setup(pg_url, tmp_path)
    dbname = pg_url.rsplit("/", 1)[1]
    holder = _holder(pg_cluster, dbname, psn)
    try:
        p = _settle(pg_url, visit)
        admin = psycopg.connect(host="127.0.0.1", port=pg_cluster.port, user=SUPERUSER, password=PASSWORD,
                                dbname=dbname, autocommit=True)
        for _ in range(200):  # the counter is inside its transaction, waiting for the person: cut it there
            killed = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND "
                                   "application_name = 'clinic-settle' AND wait_event_type = 'Lock'",
                                   (dbname,)).fetchall()
            if killed:
                break
            time.sleep(0.05)
        assert killed
        admin.close()
        out, err = p.communicate(timeout=60)
    finally:
        holder.rollback()
        holder.close()
    error = json.loads(out)["error"]
    assert p.returncode == 4 and error["code"] == "server_unreachable", out + err
    assert "连接中断" in error["message"] and "没有写入任何数据" in error["message"]
    assert PASSWORD not in out + err
    assert _count(db) == (0, 0) and audit.verify(db, actor="admin").ok
    db.dispose()
