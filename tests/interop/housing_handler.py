#!/usr/bin/python3
"""housing_handler.py — an example department handler in Python: the housing
department (住房救助, POLICY.md §8) run by its own system instead of the
built-in bin/housing (start the stack with AID_EXTERNAL_DEPARTMENTS=housing).

It speaks only the public contract (proto/DEPARTMENTS.md), with Debian's
python3-zmq and python3-msgpack:

  * SUB to the bus (AID_BUS_SUB), topic "referral.housing": each event
    carries the stream's seq. An event is only a wake-up: the work is always
    read back with `referrals.pending`.
  * On start, on a seq gap (a lost event) and every SWEEP seconds (a lost
    event at the tail shows no gap) it catches up: `referrals.pending` from
    after_seq 0, page by page, oldest first.
  * It decides each referral with the rules of POLICY.md §8 and answers with
    `decision.submit` under the request id "housing-handler-<referral id>",
    so a decision re-sent after a crash or a time-out acts once.

Run:  AID_INTAKE_API=tcp://… AID_BUS_SUB=tcp://… /usr/bin/python3 housing_handler.py
Stops on SIGTERM or SIGINT. Logs one line per decision on stderr (no ID
numbers: housing sees masked ones only).
"""
import os
import signal
import sys
import time

import msgpack
import zmq


def curve(sock, server_var="AID_INTAKE_PUBKEY", who="AID_SERVICE"):
    """Secure mode (AID_SECURE=1, ops/SECURITY.md): makes sock a CURVE client,
    before its connect, of the server whose public key is in server_var, with the
    key pair <who>_SECRETKEY or <who>_SECRETKEY_FILE. A no-op otherwise."""
    if os.environ.get("AID_SECURE") != "1":
        return sock
    secret = os.environ.get(who + "_SECRETKEY")
    if not secret:
        with open(os.environ[who + "_SECRETKEY_FILE"]) as f:
            secret = f.read().split()[0]
    sock.curve_secretkey = secret.encode()
    sock.curve_publickey = zmq.curve_public(secret.encode())
    sock.curve_serverkey = os.environ[server_var].encode()
    return sock

DEPARTMENT = "housing"
SWEEP = float(os.environ.get("HANDLER_SWEEP_S", "3"))
TIMEOUT_MS = 10000
NEED = ("none", "dangerous", "damaged", "renting")


def log(*args):
    print("housing-handler:", *args, file=sys.stderr, flush=True)


class Intake:
    """One request, one reply over a DEALER socket; a socket that timed out
    is replaced, so a late reply is never taken for the next one's."""

    def __init__(self, ctx, endpoint):
        self.ctx, self.endpoint, self.sock = ctx, endpoint, None
        self._open()

    def _open(self):
        if self.sock is not None:
            self.sock.close(linger=0)
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        curve(self.sock)
        self.sock.connect(self.endpoint)

    def call(self, op, body, id=None):
        req = {"v": 1, "op": op, "body": body}
        if id is not None:
            req["id"] = id
        self.sock.send_multipart([b"", msgpack.packb(req, use_bin_type=True)])
        if not self.sock.poll(TIMEOUT_MS, zmq.POLLIN):
            self._open()
            raise TimeoutError("no answer to %s" % op)
        frames = self.sock.recv_multipart()
        return msgpack.unpackb(frames[-1], raw=False)


def decide(ref):
    """POLICY.md §8 over what referrals.pending shows: the household class
    (S, M, O, none) and the report (housing, status, circumstances)."""
    report = ref.get("report") or {}
    hh = report.get("household", {})
    housing = hh.get("housing", "owned")
    full_dibao = hh.get("status", {}).get("dibao") == "full"
    need = housing in NEED or any(c.get("kind") == "housing_loss"
                                  for c in report.get("circumstances", []))
    cls = ref["household"]["class"]
    measures, rules = [], []
    if cls == "S" and need:  # R-HOUSE-S: public rental housing or rental subsidy
        measures.append({"code": "housing.public_rental_or_subsidy", "amount_fen": 0,
                         "period": "once", "form": "service"})
        rules.append("R-HOUSE-S")
    if full_dibao and ((cls == "S" and need) or housing == "public_rental"):  # R-HOUSE-FREE
        measures.append({"code": "housing.rent_free"})
        rules.append("R-HOUSE-FREE")
    if cls == "M" and need:  # R-HOUSE-M: directed allocation
        measures.append({"code": "housing.directed_allocation"})
        rules.append("R-HOUSE-M")
    body = {"referral_id": ref["referral_id"], "measures": measures, "rules": rules}
    if measures:
        body["status"] = "granted"
    else:
        body["status"] = "denied"
        body["reason"] = ("no housing-aid rule applies: " +
                          ("the household is not an S or M household" if need
                           else "no housing need"))
        body["rules"] = ["R-HOUSE-S", "R-HOUSE-M"]
    return body


class Handler:
    def __init__(self):
        self.ctx = zmq.Context()
        self.intake = Intake(self.ctx, os.environ.get("AID_INTAKE_API", "tcp://127.0.0.1:5601"))
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.SUBSCRIBE, ("referral." + DEPARTMENT).encode())
        curve(self.sub, "AID_BUS_PUBKEY")
        self.sub.connect(os.environ.get("AID_BUS_SUB", "tcp://127.0.0.1:5602"))
        self.last_seq = None
        self.stopping = False

    def handle(self, ref):
        body = decide(ref)
        rep = self.intake.call("decision.submit", body, id="housing-handler-" + ref["referral_id"])
        if rep.get("ok"):
            log("decided", ref["referral_id"], "seq", ref["seq"], body["status"],
                "duplicate" if rep["result"].get("duplicate") else "")
        else:  # e.g. conflict: decided meanwhile by an operator; the sweep moves on
            log("refused", ref["referral_id"], rep.get("error"))

    def catch_up(self, after_seq=0):
        """Every pending referral after after_seq, page by page."""
        while not self.stopping:
            rep = self.intake.call("referrals.pending",
                                   {"department": DEPARTMENT, "after_seq": after_seq,
                                    "limit": 50})
            if not rep.get("ok"):
                log("referrals.pending failed", rep.get("error"))
                return
            refs = rep["result"]["referrals"]
            for ref in refs:
                self.handle(ref)
                after_seq = ref["seq"]
            if not rep["result"]["more"]:
                return

    def on_event(self, seq):
        if self.last_seq is not None and seq > self.last_seq + 1:
            log("seq gap", self.last_seq, "->", seq, ": catching up")
            self.catch_up(self.last_seq)
        else:  # the one referral the event announces (if still pending)
            rep = self.intake.call("referrals.pending",
                                   {"department": DEPARTMENT, "after_seq": seq - 1, "limit": 1})
            for ref in rep.get("result", {}).get("referrals", []) if rep.get("ok") else []:
                if ref["seq"] == seq:
                    self.handle(ref)
        self.last_seq = seq if self.last_seq is None else max(self.last_seq, seq)

    def run(self):
        log("started; catching up")
        self.catch_up(0)
        next_sweep = time.monotonic() + SWEEP
        while not self.stopping:
            try:
                if self.sub.poll(200, zmq.POLLIN):
                    topic, payload = self.sub.recv_multipart()[:2]
                    event = msgpack.unpackb(payload, raw=False)
                    self.on_event(int(event["seq"]))
                if time.monotonic() >= next_sweep:
                    self.catch_up(0)
                    next_sweep = time.monotonic() + SWEEP
            except TimeoutError as e:  # intake down or slow: the sweep retries
                log(e)
            except (ValueError, KeyError, msgpack.ExtraData, msgpack.FormatError) as e:
                log("malformed event ignored:", e)
        self.sub.close(0)
        self.intake.sock.close(0)
        self.ctx.term()
        log("stopped")


def main():
    handler = Handler()

    def stop(signum, frame):
        handler.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    handler.run()


if __name__ == "__main__":
    main()
