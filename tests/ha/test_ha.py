"""test_ha.py — the loss of a machine, drilled (issue 20), on the HA stack of ops/ha.sh.

Each drill runs a client submitting reports continuously (thousands, at
AID_HA_RATE per second), breaks something, and ends with the fault drills'
audit (every acknowledged report stored and fully decided, each department
once): it prints the seconds without a new acknowledgement, the reports
acknowledged, lost (0) and doubled (0).

1. kill -9 of the primary's postmaster: Patroni promotes the sync standby;
   the old primary rejoins as a standby (pg_rewind when its history diverged).
2. the primary's whole node (Patroni and Postgres) stopped for
   AID_HA_NODE_DOWN_S (60) seconds, then started: it rejoins as a standby.
3. the Redis master killed: Sentinel promotes the replica; intake keeps
   accepting throughout (Redis is a fast path, the services ask the Sentinels).
4. point-in-time restore: after a DELETE of a township's reports at a
   recorded time, pgBackRest restores to just before it into another data
   directory, started on another port: every report committed before is there.
5. etcd loses one member of three: nothing stops; then a second (no quorum):
   Patroni demotes the primary (read-only) rather than risk two primaries;
   nothing acknowledged is lost once the members are back.
"""
import os
import re
import shutil
import socket
import subprocess
import time

import conftest as c

h = c.h


def start_load(tag, seconds):
    load = h.Load(tag, int(c.RATE * seconds), window=200, rate=c.RATE, resend=2.0,
                  deadline=seconds + 240)
    watch = c.Watch(load)
    load.start()
    watch.start()
    return load, watch


def end_load(load, watch, timeout=300):
    load.finish(timeout)
    watch.stop.set()
    watch.join(5)


def test_0_health_shows_the_cluster():
    """aidctl health: the primary, the sync standby and its lag, Sentinel's
    master, the last backup and the newest restorable moment."""
    lead = c.leader()
    p = subprocess.run([os.path.join(c.ROOT, "bin", "aidctl"), "health"], capture_output=True,
                       text=True, timeout=60)
    print("\n" + p.stdout)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "\ncluster\n" in out, out
    assert "primary      127.0.0.1:%s (WAL at " % c.node_port(lead) in out, out
    other = [n for n in c.NODES if n != lead][0]
    assert re.search(r"standby      node%d 127\.0\.0\.1 sync streaming, lag \d+ bytes" % other,
                     out), out
    master = c.ha("redis-master").stdout.strip().replace(" ", ":")
    assert "redis        master %s (Sentinel " % master in out, out
    assert re.search(r"backup       full \d{8}-\d{6}F, ended \d{4}-", out), out
    assert re.search(r"restorable   up to \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", out), out


def test_1_primary_postmaster_killed():
    old = c.leader()
    assert old, "no primary"
    load, watch = start_load("ha-pgkill", 40)
    time.sleep(5)
    assert load.acked() > 0, "nothing acknowledged before the fault"
    rew = c.log_size("patroni%d.log" % old)
    t = time.monotonic()
    c.ha("pg-kill", str(old))
    new = c.wait_for("a new primary", lambda: (c.leader() or old) != old and c.leader(), 90)
    promoted = time.monotonic() - t
    print("\nkill -9 postgres of node%d: node%d promoted after %.1f s" % (old, new, promoted))
    c.wait_for("node%d back as a standby" % old, lambda: c.standby_streaming(old), 180)
    rewound = "pg_rewind" in c.log_since("patroni%d.log" % old, rew)
    print("node%d rejoined as a standby (%s)" % (old, "pg_rewind ran" if rewound
                                                 else "no divergence: no rewind needed"))
    end_load(load, watch)
    c.audit("drill 1 (primary's postmaster killed)", load, watch.outage(t))


def test_2_primary_node_down_60s():
    old = c.leader()
    assert old, "no primary"
    load, watch = start_load("ha-node", c.NODE_DOWN_S + 25)
    time.sleep(5)
    t = time.monotonic()
    c.ha("node-stop", str(old))
    new = c.wait_for("a new primary", lambda: (c.leader() or old) != old and c.leader(), 90)
    print("\nnode%d stopped (Patroni and Postgres): node%d primary after %.1f s"
          % (old, new, time.monotonic() - t))
    acked_at = load.acked()
    time.sleep(max(0.0, c.NODE_DOWN_S - (time.monotonic() - t)))
    during = load.acked() - acked_at
    assert during > 0, "nothing acknowledged while node%d was down" % old
    c.ha("node-start", str(old))
    c.wait_for("node%d back as a standby" % old, lambda: c.standby_streaming(old), 180)
    print("node%d down %.0f s (%d acknowledged meanwhile), back as a standby"
          % (old, c.NODE_DOWN_S, during))
    end_load(load, watch)
    c.audit("drill 2 (primary's node down %.0f s)" % c.NODE_DOWN_S, load, watch.outage(t))


def test_3_redis_master_killed():
    before = c.ha("redis-master").stdout.strip()
    load, watch = start_load("ha-redis", 25)
    time.sleep(5)
    t = time.monotonic()
    c.ha("redis-kill-master")
    after = c.wait_for("Sentinel's new master",
                       lambda: (lambda m: m if m and m != before else None)(
                           c.ha("redis-master", check=False).stdout.strip()), 60)
    print("\nRedis master %s killed: Sentinel promoted %s after %.1f s"
          % (before, after, time.monotonic() - t))
    # intake asked the Sentinels again: on the new master, not degraded
    hl = h.wait_health("ok", 20)
    print("intake's health %r %.1f s after the kill" % (hl.get("redis"), time.monotonic() - t))
    time.sleep(max(0.0, 5 - (time.monotonic() - t)))
    outage = watch.outage(t, time.monotonic())
    c.ha("redis-start")                 # the old master comes back as a replica
    end_load(load, watch)
    c.audit("drill 3 (Redis master killed)", load, outage)
    assert outage < 5.0, "intake stopped accepting for %.1f s" % outage


def free_port(base):
    p = base
    while True:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
                return p
            except OSError:
                p += 1


def test_4_point_in_time_restore_after_a_mistaken_delete():
    load, watch = start_load("ha-pitr", 20)
    t = time.monotonic()
    end_load(load, watch)
    c.audit("drill 4 (reports before the mistake)", load, watch.outage(t))
    before = h.psql_value("SELECT clock_timestamp()")    # every report above committed
    time.sleep(1.5)
    like = h.it.q(load.tag + "-%")
    township = h.it.AREA["township"]
    # the operator's mistake (as the owner, past the foreign keys)
    deleted = h.psql("BEGIN; SET LOCAL session_replication_role = replica;"
                     " DELETE FROM reports WHERE township = %s AND request_id LIKE %s"
                     " RETURNING report_id; COMMIT;" % (h.it.q(township), like))
    assert len(deleted) == load.n, "the mistake deleted %d of %d" % (len(deleted), load.n)
    assert h.psql_value("SELECT count(*) FROM reports WHERE request_id LIKE %s" % like) == "0"
    seg = h.psql_value("SELECT pg_walfile_name(pg_switch_wal())")
    c.wait_for("WAL %s archived" % seg, lambda: (h.psql_value(
        "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") or "") >= seg, 60)
    dest = os.path.join(c.VAR, "restore-pitr")
    c.ha("restore-stop", dest, check=False)
    shutil.rmtree(dest, ignore_errors=True)
    shutil.rmtree(dest + ".sock", ignore_errors=True)
    port = free_port(int(os.environ.get("AID_HA_PORT_BASE", "27400")) + 90)
    t0 = time.monotonic()
    out = c.ha("restore", before, dest, str(port), timeout=600).stdout.strip()
    took = time.monotonic() - t0
    try:
        p = subprocess.run(["psql", "-X", "-q", "-tA", "-F", "\t", "-h", dest + ".sock",
                            "-p", str(port), "-U", "postgres", "-d", "aid", "-c",
                            "SELECT request_id, report_id, case_id FROM reports"
                            " WHERE request_id LIKE %s" % like],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        restored = {}
        for line in p.stdout.splitlines():
            rid, rep, case = line.split("\t")
            restored[rid] = ("report-" + rep, "case-" + case)
        missing = [rid for rid, ids in load.ok.items() if restored.get(rid) != ids]
        print("drill 4: %s\n  restored to before %s in %.1f s: %d of %d reports committed before"
              " the mistake are there, %d missing" % (out, before, took, len(restored),
                                                       load.n, len(missing)))
        assert not missing, "not in the restored copy: %r" % (missing[:5],)
        assert len(restored) == load.n
    finally:
        c.ha("restore-stop", dest, check=False)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.rmtree(dest + ".sock", ignore_errors=True)


def test_5_etcd_member_lost_then_quorum_lost():
    load, watch = start_load("ha-etcd", 60)
    time.sleep(5)
    t = time.monotonic()
    c.ha("etcd-stop", "3")
    time.sleep(10)
    one = watch.outage(t, time.monotonic())
    print("\netcd3 stopped: %.1f s at most without an acknowledgement over 10 s" % one)
    assert one < 5.0, "a lost etcd member stopped writes for %.1f s" % one
    old = c.leader()
    t2 = time.monotonic()
    c.ha("etcd-stop", "2")
    # Patroni cannot renew the leader key: it restarts its primary read-only
    roles = c.wait_for("node%d kept read-only (no quorum)" % old,
                       lambda: (lambda r: r if "primary" not in r.values() and
                                r[old] == "standby" else None)(c.node_roles()), 90)
    demoted = time.monotonic() - t2
    acked_ro = load.acked()
    time.sleep(3)
    roles2 = c.node_roles()
    assert "primary" not in roles2.values(), "a primary without quorum: %r" % roles2
    print("etcd quorum lost: node%d read-only after %.1f s, no primary anywhere %r;"
          " %d acknowledged in the 3 s after" % (old, demoted, roles, load.acked() - acked_ro))
    c.ha("etcd-start", "2")
    c.ha("etcd-start", "3")
    new = c.wait_for("a primary again", c.leader, 120)
    print("etcd back: node%d primary after %.1f s" % (new, time.monotonic() - t2))
    end_load(load, watch)
    c.audit("drill 5 (etcd member, then quorum lost)", load, watch.outage(t2))
