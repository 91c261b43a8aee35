#!/usr/bin/env python3
"""SORT and THREAD as Python's imaplib sends them (Roundcube-like), run by
extensions_test.go against a mailbox of five messages (see there).
Usage: imaplib_sort.py HOST TLS_PORT CAFILE USER PASSWORD
Prints one "ok <step>" line per step; exits 1 at the first failure."""

import imaplib
import ssl
import sys

host, tls_port, cafile, user, password = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False


def check(step, result, want):
    typ, data = result
    got = data[0].decode() if data and data[0] is not None else ""
    if typ != "OK" or got != want:
        print(f"FAIL {step}: {typ} {data!r}, want {want!r}")
        sys.exit(1)
    print(f"ok {step}", flush=True)


m = imaplib.IMAP4_SSL(host, int(tls_port), ssl_context=ctx)
m.login(user, password)
caps = m.capability()[1][0].decode().upper().split()
for cap in ("SORT", "ESORT", "SORT=DISPLAY"):
    if cap not in caps:
        print(f"FAIL capability {cap} not advertised: {caps}")
        sys.exit(1)
m.select("INBOX")
check("sort subject", m.sort("(SUBJECT)", "UTF-8", "ALL"), "1 2 4 3 5")
check("sort reverse date", m.sort("(REVERSE DATE)", "UTF-8", "ALL"), "5 4 3 2 1")
check("sort from then size", m.sort("(FROM SIZE)", "UTF-8", "ALL"), "1 3 2 4 5")
check("sort with search", m.sort("(SUBJECT)", "UTF-8", "FROM", "carol"), "2 4")
check("uid sort", m.uid("SORT", "(REVERSE ARRIVAL)", "UTF-8", "ALL"), "5 4 3 2 1")
m.logout()
