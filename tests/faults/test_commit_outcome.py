"""test_commit_outcome.py — the link to Postgres lost at COMMIT (issue 14, point 1).

Twelve client threads submit reports, one at a time each, to both intake
replicas, while intake's database backends are killed under them:

1. for ~12 s a killer inside Postgres terminates (pg_terminate_backend) an
   intake backend whenever pg_stat_activity shows it running COMMIT or the
   batch's submit statement (at most one every 150 ms);
2. then three times a backend seen running COMMIT is killed with SIGKILL (the
   whole cluster restarts: crash recovery).

A COMMIT whose answer is lost leaves the outcome unknown to intake until it
asks. Afterwards every reply is checked against the requests table:

- every `ok` is stored, under the report and case ids it answered, and is not
  `duplicate` (each id is sent once);
- every `unavailable` that says "nothing was accepted" is NOT stored;
- an `unavailable` that says the outcome is unknown may be either (counted).

Before the fix intake answered a whole batch "nothing was accepted" when the
link broke after COMMIT had been sent, and hundreds of such replies were
stored. Bounded: ~25 s of load, every wait time-limited; loopback only.
"""
import os
import signal
import subprocess
import threading
import time

import msgpack
import zmq

import conftest as h

THREADS = 12
SECONDS = 12
KILL9 = 3
NOTHING = "nothing was accepted"
UNKNOWN = "outcome unknown"

KILLER = """
DO $$
DECLARE
    t_end timestamptz := clock_timestamp() + interval '%d s';
    last timestamptz := clock_timestamp() - interval '1 s';
    n int := 0;
    p int;
BEGIN
    WHILE clock_timestamp() < t_end LOOP
        PERFORM pg_stat_clear_snapshot();  -- a fresh pg_stat_activity each round
        IF clock_timestamp() - last > interval '150 ms' THEN
            SELECT pid INTO p FROM pg_stat_activity
             WHERE usename = 'aid_intake' AND state = 'active'
               AND (query = 'COMMIT' OR query LIKE '%%aid_submit_report%%')
             ORDER BY query = 'COMMIT' DESC LIMIT 1;
            IF p IS NOT NULL AND pg_terminate_backend(p) THEN
                n := n + 1;
                last := clock_timestamp();
            END IF;
        END IF;
        PERFORM pg_sleep(0.0005);
    END LOOP;
    RAISE NOTICE 'terminated %%', n;
END $$;
"""

# the pid of an intake backend running COMMIT, within secs (0: none seen)
AT_COMMIT = """
CREATE FUNCTION pg_temp.at_commit(secs float8) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    t_end timestamptz := clock_timestamp() + secs * interval '1 s';
    p int;
BEGIN
    WHILE clock_timestamp() < t_end LOOP
        PERFORM pg_stat_clear_snapshot();
        SELECT pid INTO p FROM pg_stat_activity
         WHERE usename = 'aid_intake' AND query = 'COMMIT' AND state = 'active' LIMIT 1;
        IF p IS NOT NULL THEN
            RETURN p;
        END IF;
        PERFORM pg_sleep(0.0002);
    END LOOP;
    RETURN 0;
END $$;
"""


def kill9_at_commit():
    """SIGKILLs one intake backend seen running COMMIT (a psql session kept
    open, so the pid arrives in a millisecond), then waits until Postgres
    answers again after its crash restart. True when one was killed."""
    p = subprocess.Popen(["psql", os.environ["AID_PG_DSN"], "-X", "-q", "-A", "-t", "-v",
                          "ON_ERROR_STOP=1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True, bufsize=1)
    try:
        p.stdin.write(AT_COMMIT + "\nSELECT pg_temp.at_commit(5);\n")
        p.stdin.flush()
        line = p.stdout.readline().strip()
        pid = int(line) if line.isdigit() else 0
        if pid:
            os.kill(pid, signal.SIGKILL)
    finally:
        p.kill()
        p.wait(10)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = subprocess.run(["psql", os.environ["AID_PG_DSN"], "-X", "-q", "-A", "-t", "-c",
                            "SELECT 1"], capture_output=True, text=True, timeout=30)
        if r.stdout.strip() == "1":
            return pid != 0
        time.sleep(0.2)
    raise AssertionError("Postgres did not come back within 60 s of a backend's SIGKILL")


class Client(threading.Thread):
    """Sends report.submit requests one at a time until stop is set; keeps
    every reply (request id -> reply map, or None when none came in 20 s)."""

    def __init__(self, tag, w, stop):
        super().__init__(daemon=True)
        self.tag, self.w, self.stop = tag, w, stop
        self.replies = {}

    def run(self):
        sock = zmq.Context.instance().socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.IMMEDIATE, 1)  # one request at a time: see conftest.Client
        for ep in h.ENDPOINTS:
            sock.connect(ep)
        try:
            k = 0
            while not self.stop.is_set():
                rid = "%s-%d-%d" % (self.tag, self.w, k)
                body = h.household(self.w * 100000 + k)
                sock.send_multipart([b"", msgpack.packb(
                    {"v": 1, "op": "report.submit", "id": rid, "body": body},
                    use_bin_type=True)])
                self.replies[rid] = None
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    if sock.poll(100, zmq.POLLIN):
                        rep = msgpack.unpackb(sock.recv_multipart()[-1], raw=False)
                        if rep.get("id") == rid:
                            self.replies[rid] = rep
                            break
                if not (self.replies[rid] or {}).get("ok"):
                    time.sleep(0.02)  # no busy loop while the database is away
                k += 1
        finally:
            sock.close(0)


def outcome_lines():
    """store.commit_outcome lines in the intake logs (how often intake asked)."""
    n = 0
    logdir = os.path.join(h.VAR, "log")
    for name in os.listdir(logdir) if os.path.isdir(logdir) else []:
        if name.startswith("intake"):
            with open(os.path.join(logdir, name), "rb") as f:
                n += f.read().count(b"store.commit_outcome")
    return n


def test_every_reply_true_when_the_link_dies_at_commit():
    h.wait_health("ok", 30)
    tag = "flt-%s-commit" % h.RUN
    before = outcome_lines()
    stop = threading.Event()
    clients = [Client(tag, w, stop) for w in range(THREADS)]
    for c in clients:
        c.start()
    time.sleep(0.5)
    killer = subprocess.run(["psql", os.environ["AID_PG_DSN"], "-X", "-q", "-v",
                             "ON_ERROR_STOP=1", "-c", KILLER % SECONDS],
                            capture_output=True, text=True, timeout=SECONDS + 60)
    assert killer.returncode == 0, killer.stderr
    kills = int(killer.stderr.strip().rsplit(" ", 1)[-1])
    kill9 = 0
    for _ in range(KILL9):
        time.sleep(1.0)  # the load resumes
        kill9 += kill9_at_commit()
    time.sleep(1.0)
    stop.set()
    for c in clients:
        c.join(30)
    assert not any(c.is_alive() for c in clients), "a client thread did not stop"

    replies = {}
    for c in clients:
        replies.update(c.replies)
    rows = h.psql("SELECT request_id, report_id, case_id FROM requests WHERE request_id LIKE %s"
                  % h.it.q(tag + "-%"))
    db = {r[0]: ("report-" + r[1], "case-" + r[2]) for r in rows}
    ok, nothing, unknown, silent, other = [], [], [], [], []
    for rid, rep in replies.items():
        if rep is None:
            silent.append(rid)
        elif rep.get("ok"):
            ok.append(rid)
        elif rep.get("error", {}).get("code") == "unavailable":
            msg = rep["error"].get("message", "")
            (nothing if NOTHING in msg else unknown if UNKNOWN in msg else other).append(rid)
        else:
            other.append(rid)
    lied = [rid for rid in nothing if rid in db]
    lost = [rid for rid in ok if db.get(rid) != (replies[rid]["result"]["report_id"],
                                                   replies[rid]["result"]["case_id"])]
    dup = [rid for rid in ok if replies[rid]["result"].get("duplicate") is not False]
    print("commit outcome: %d backends terminated, %d killed -9 at COMMIT, %d requests: %d ok, %d unavailable"
          " (nothing accepted; %d of them stored), %d outcome unknown (%d stored), %d silent,"
          " %d other; intake asked pg_xact_status %d times"
          % (kills, kill9, len(replies), len(ok), len(nothing), len(lied), len(unknown),
             sum(rid in db for rid in unknown), len(silent), len(other),
             outcome_lines() - before))
    assert kills >= 5, "only %d backends terminated: the drill did not bite" % kills
    assert kill9 >= 1, "no backend was seen running COMMIT for a SIGKILL"
    assert len(ok) > THREADS, "almost nothing was accepted: %d ok" % len(ok)
    assert not lied, "answered unavailable (nothing accepted) although stored: %r" % lied[:5]
    assert not lost, "answered ok but not stored as answered: %r" % lost[:5]
    assert not dup, "answered duplicate for a request sent once: %r" % dup[:5]
    assert not other, "unexpected replies: %r" % [replies[r] for r in other[:3]]
    assert not silent, "no reply within 20 s: %r" % silent[:5]
