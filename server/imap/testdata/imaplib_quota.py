#!/usr/bin/env python3
"""GETQUOTAROOT and GETQUOTA as Python's imaplib sends them, run by
extensions_test.go for a user with a 10 KiB limit and about 1 KiB stored.
Usage: imaplib_quota.py HOST TLS_PORT CAFILE USER PASSWORD
Prints one "ok <step>" line per step; exits 1 at the first failure."""

import imaplib
import ssl
import sys

host, tls_port, cafile, user, password = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False


def fail(step, detail):
    print(f"FAIL {step}: {detail}")
    sys.exit(1)


m = imaplib.IMAP4_SSL(host, int(tls_port), ssl_context=ctx)
m.login(user, password)
caps = m.capability()[1][0].decode().upper().split()
if "QUOTA" not in caps:
    fail("capability", caps)
print("ok capability")
typ, data = m.getquotaroot("INBOX")
if typ != "OK" or len(data) != 2:
    fail("getquotaroot", (typ, data))
roots, quotas = data
if roots[0] != b'"INBOX" ""' and roots[0] != b'INBOX ""':
    fail("getquotaroot root", roots)
if quotas[0] != b'"" (STORAGE 1 10)':
    fail("getquotaroot quota", quotas)
print("ok getquotaroot")
typ, data = m.getquota('""')
if typ != "OK" or data[0] != b'"" (STORAGE 1 10)':
    fail("getquota", (typ, data))
print("ok getquota")
typ, data = m.setquota('""', "(STORAGE 100)")
if typ != "NO":
    fail("setquota", (typ, data))
print("ok setquota refused")
typ, data = m.getquota('"other"')
if typ != "NO":
    fail("unknown root", (typ, data))
print("ok unknown root")
m.logout()
