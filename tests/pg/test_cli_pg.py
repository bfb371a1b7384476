"""Every command on a PostgreSQL database as on a SQLite file, from `init` to the export and the backup — run
as a clerk and a supervisor would, as subprocesses with the server URL in --db or CLINIC_SETTLE_DB; the
password of the URL is never printed; an unreachable server settles nothing and writes no local file."""

import json
from pathlib import Path

from desktop_app.store.db import SCHEMA_HEAD
from tests.cli_run import cs, env_for
from tests.pgcluster import PASSWORD

VISIT = {"psn_no": None, "date": None, "benefit": "general_outpatient",
         "items": [{"code": "X1", "qty": "1", "price": "110.00", "kind": "service", "chrgitm_lv": "01"}]}


def no_password(*texts):
    for t in texts:
        assert PASSWORD not in t


def test_init_then_every_command_on_postgresql(pg_url, tmp_path):
    code, out, err = cs("status", "--db", pg_url, user=None)  # no tables yet: only init makes them
    assert code == 2 and "clinic-settle init" in err and "***" in err
    no_password(out, err)
    code, out, err = cs("init", "--db", pg_url, "--json", user=None)
    data = json.loads(out)
    assert code == 0 and data["from"] is None and data["to"] == SCHEMA_HEAD and "***" in data["db"]
    no_password(out, err)
    code, out, err = cs("demo", "--db", pg_url, "--persons", "30", user=None)
    assert code == 0 and "cs_admin:***@" in out, err
    no_password(out, err)
    code, out, _ = cs("lookup", "141102", "--db", pg_url, "--json")
    psn = next(h["psn_no"] for h in json.loads(out)["hits"] if h["insutype"] == "390" and h["admdvs"] == "141102")
    import datetime

    today = datetime.date.today().isoformat()
    visit = tmp_path / "v.json"
    visit.write_text(json.dumps({**VISIT, "psn_no": psn, "date": today}), encoding="utf-8")
    env = env_for("clerk", CLINIC_SETTLE_DB=pg_url)  # the URL from the environment, as a counter is set up
    code, out, err = cs("settle", str(visit), "--token", "t-1", "--json", env=env)
    assert code == 0, out + err
    setl_no = json.loads(out)["setl_no"]
    code, out, err = cs("settle", str(visit), "--token", "t-1", "--json", env=env)
    assert code == 0 and json.loads(out)["setl_no"] == setl_no and json.loads(out)["replayed"] is True
    code, out, err = cs("reverse", setl_no, "--reason", "录入错误", "--json", env=env)
    assert code == 0, err
    code, out, err = cs("day-close", "--db", pg_url, "--json", user="admin")
    assert code == 0, err
    code, out, err = cs("export", "--from", today, "--to", today, "--out", str(tmp_path / "exp"), "--db", pg_url,
                        "--json", user="admin")
    assert code == 0, err
    code, out, err = cs("audit", "verify", "--db", pg_url, user="admin")
    assert code == 0 and "审计链完整" in out and "2 笔结算与记录一致" in out, out + err
    code, out, err = cs("backup", "--to", str(tmp_path / "bk"), "--db", pg_url, "--json", user="admin")
    assert code == 0, err
    dump = Path(json.loads(out)["path"])
    assert dump.suffix == ".pgdump" and dump.stat().st_size > 10_000
    code, out, err = cs("restore", str(dump), "--db", pg_url, "--yes", user="admin")
    assert code == 2 and "pg_restore" in err
    no_password(out, err)


def test_an_unreachable_server_settles_nothing_and_writes_no_local_file(tmp_path, pg_cluster):
    home = tmp_path / "home"
    home.mkdir()
    url = pg_cluster.url("clinic").replace(f":{pg_cluster.port}/", ":1/")  # nothing listens on port 1
    visit = tmp_path / "v.json"
    visit.write_text(json.dumps({**VISIT, "psn_no": "14110200000001", "date": "2026-11-23"}), encoding="utf-8")
    env = env_for("clerk", CLINIC_SETTLE_DB=url, HOME=str(home), XDG_DATA_HOME=str(home / "data"))
    for cmd in (("settle", str(visit)), ("lookup", "张")):
        code, out, err = cs(*cmd, "--json", env=env)
        error = json.loads(out)["error"]
        assert code == 4 and error["code"] == "server_unreachable", (cmd, out, err)
        assert "无法连接数据库服务器" in error["message"] and "不会改存到本机文件" in error["message"]
        no_password(out, err)
    code, out, err = cs("status", env=env)
    assert code == 4 and "无法连接数据库服务器" in err
    no_password(out, err)
    assert [p for p in home.rglob("*") if p.is_file()] == []


def test_a_wrong_password_is_said_as_such_without_echoing_it(pg_cluster):
    url = pg_cluster.url("postgres", password="not-the-password")
    code, out, err = cs("status", "--db", url, user=None)
    assert code == 4 and "用户名或密码错误" in err and "not-the-password" not in out + err
