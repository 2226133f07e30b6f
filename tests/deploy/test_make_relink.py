"""test_make_relink.py — a program is relinked when one of its .c files is
deleted (or added): the Makefile keeps each program's object list in
build/<variant>/objs/<name>.objs, rewritten only when the list changes, and
the program depends on it. (Before, a stale bin/intake kept serving the
operations moved away from it.) Asks make only (-q: nothing is built)."""
import os
import re
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROBE = os.path.join(ROOT, "services", "intake", "zz_relink_probe.c")


def make_q(target):
    """make -q target (inherits MAKEFLAGS, so the variant is the caller's)."""
    return subprocess.run(["make", "-q", "-C", ROOT, target], capture_output=True, text=True,
                          timeout=120)


def objs_file():
    p = make_q("-p")
    m = re.search(r"^bin/intake: .*?(\S*/objs/intake\.objs)", p.stdout, re.M)
    assert m, "bin/intake does not depend on its object list"
    return os.path.join(ROOT, m.group(1))


def test_deleting_a_source_file_relinks_its_program():
    f = objs_file()
    assert os.path.exists(f)
    with open(PROBE, "w", encoding="utf-8") as w:
        w.write("/* a file that will be deleted */\nint zz_relink_probe;\n")
    try:
        make_q("bin/intake")
        with open(f, encoding="utf-8") as r:
            assert "zz_relink_probe.o" in r.read()
    finally:
        os.unlink(PROBE)
    before = os.stat(f).st_mtime_ns
    make_q("bin/intake")
    with open(f, encoding="utf-8") as r:
        assert "zz_relink_probe.o" not in r.read()
    assert os.stat(f).st_mtime_ns >= before
    # the list changed: bin/intake is out of date until it is relinked
    assert make_q("bin/intake").returncode != 0
    # unchanged lists are not rewritten (an ordinary make relinks nothing)
    mtime = os.stat(f).st_mtime_ns
    make_q("bin/intake")
    assert os.stat(f).st_mtime_ns == mtime
