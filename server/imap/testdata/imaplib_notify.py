#!/usr/bin/env python3
"""NOTIFY (RFC 5465) with Python's imaplib against sluice, run by
notify_test.go. imaplib has no NOTIFY method, so the command goes raw, as
a client adding it would send it; a second connection and an SMTP
delivery make the changes.
Usage: imaplib_notify.py HOST TLS_PORT CAFILE USER PASSWORD SMTP_PORT
Prints one "ok <step>" line per step; exits 1 at the first failure."""

import imaplib
import re
import smtplib
import socket
import ssl
import sys
import time

host, tls_port, cafile, user, password, smtp_port = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False
imaplib.Commands["NOTIFY"] = ("AUTH", "SELECTED")


def fail(step, detail):
    print(f"FAIL {step}: {detail}")
    sys.exit(1)


def ok(step):
    print(f"ok {step}", flush=True)


def login():
    m = imaplib.IMAP4_SSL(host, int(tls_port), ssl_context=ctx)
    typ, data = m.login(user, password)
    if typ != "OK":
        fail("login", data)
    return m


def untagged(m, name):
    """The untagged responses of one kind the last commands left."""
    typ, data = m.response(name)
    return [d.decode() if isinstance(d, bytes) else d for d in data if d is not None]


def noop_until(m, name, pattern, step):
    """NOOP until an untagged response of kind name matches pattern."""
    deadline = time.time() + 10
    while time.time() < deadline:
        m.noop()
        for d in untagged(m, name):
            if re.fullmatch(pattern, d):
                return d
        time.sleep(0.05)
    fail(step, f"no {name} matching {pattern}")


a = login()
b = login()
typ, data = a.capability()  # after login: NOTIFY is for logged-in sessions
if typ != "OK" or b"NOTIFY" not in data[0].split():
    fail("capability", data)
ok("capability")

a.select("INBOX")
typ, data = a._simple_command(
    "NOTIFY", "SET", "STATUS",
    "(selected (MessageNew (UID FLAGS) MessageExpunge))",
    "(personal (MessageNew MessageExpunge FlagChange MailboxName))")
if typ != "OK":
    fail("notify-set", data)
statuses = untagged(a, "STATUS")
if not any(s.startswith('"Archive" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY ') for s in statuses):
    fail("notify-set", f"initial STATUS: {statuses}")
if any(s.startswith('"INBOX"') for s in statuses):
    fail("notify-set", f"STATUS of the selected INBOX: {statuses}")
ok("notify-set")

# Another session saves a draft: STATUS of Drafts at the next NOOP.
typ, data = b.append("Drafts", r"(\Draft)", None, b"Subject: draft\r\n\r\nwork in progress\r\n")
if typ != "OK":
    fail("append", data)
noop_until(a, "STATUS", r'"Drafts" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ HIGHESTMODSEQ \d+\)', "status-append")
ok("status-append")

# Mail over SMTP to the selected INBOX: EXISTS, then the FETCH MessageNew
# asked for.
with smtplib.SMTP(host, int(smtp_port)) as s:
    s.sendmail("dave@example.net", [user],
               b"From: dave@example.net\r\nTo: " + user.encode() + b"\r\nSubject: over smtp\r\n\r\nhello\r\n")
noop_until(a, "EXISTS", r"1", "exists-smtp")
fetch = noop_until(a, "FETCH", r"1 \(UID 1 FLAGS \(.*\)\)", "fetch-smtp")
if "\\Seen" in fetch:
    fail("fetch-smtp", fetch)
ok("fetch-smtp")

# A mailbox another session creates comes as LIST; a message saved to it
# then as its STATUS.
b.create("Receipts")
noop_until(a, "LIST", r'\(\) "\." "?Receipts"?', "list-create")
b.append("Receipts", None, None, b"Subject: receipt\r\n\r\n12.50\r\n")
noop_until(a, "STATUS", r'"Receipts" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ HIGHESTMODSEQ \d+\)', "status-new-mailbox")
ok("list-create")

# While idling, with no command: the STATUS arrives by itself.
tag = a._new_tag()
a.send(tag + b" IDLE\r\n")
if not a.readline().startswith(b"+"):
    fail("idle", "no continuation")
b.append("Receipts", None, None, b"Subject: another\r\n\r\n7.00\r\n")
a.sock.settimeout(10)
line = a.readline().decode()
if not re.fullmatch(r'\* STATUS "Receipts" \(MESSAGES 2 UIDNEXT 3 UIDVALIDITY \d+ HIGHESTMODSEQ \d+\)\r\n', line):
    fail("idle", line)
a.send(b"DONE\r\n")
while True:
    line = a.readline()
    if line.startswith(tag):
        if b" OK " not in line:
            fail("idle", line)
        break
ok("idle-status")

# NOTIFY NONE: nothing more about other mailboxes.
typ, data = a._simple_command("NOTIFY", "NONE")
if typ != "OK":
    fail("notify-none", data)
a.response("STATUS")
b.append("Receipts", None, None, b"Subject: third\r\n\r\n1.00\r\n")
time.sleep(0.3)
a.noop()
if untagged(a, "STATUS"):
    fail("notify-none", untagged(a, "STATUS"))
ok("notify-none")
a.logout()
b.logout()
