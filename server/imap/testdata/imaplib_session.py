#!/usr/bin/env python3
"""A scripted IMAP session with Python's imaplib against sluice, run by
imaplib_test.go: every command a mail client uses, checked step by step.
Usage: imaplib_session.py HOST PLAIN_PORT TLS_PORT CAFILE USER PASSWORD OTHER_USER
Prints one "ok <step>" line per step; exits 1 at the first failure."""

import imaplib
import re
import socket
import ssl
import sys
import time

host, plain_port, tls_port, cafile, user, password, other = sys.argv[1:8]
T0 = time.time()
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False


def fail(step, detail):
    print(f"FAIL {step}: {detail}")
    sys.exit(1)


def ok(step):
    print(f"ok {step} ({time.time() - T0:.2f}s)", flush=True)


def expect(step, result, want="OK"):
    typ, data = result
    if typ != want:
        fail(step, f"got {typ} {data!r}, want {want}")
    return data


def flat(data):
    out = b""
    for d in data:
        if isinstance(d, tuple):
            out += d[0] + d[1]
        elif d is not None:
            out += d
    return out.decode("utf-8", "replace")


# 1. Plain connection: no login before TLS.
m = imaplib.IMAP4(host, int(plain_port))
caps = m.capabilities
if "LOGINDISABLED" not in caps or "STARTTLS" not in caps or "AUTH=PLAIN" in caps:
    fail("plain-caps", caps)
try:
    m.login(user, password)
    fail("plain-login", "LOGIN accepted before TLS")
except imaplib.IMAP4.error:
    pass
ok("login refused before STARTTLS")
m.starttls(ssl_context=ctx)
caps = m.capabilities
if "LOGINDISABLED" in caps or "AUTH=PLAIN" not in caps:
    fail("tls-caps", caps)
try:
    m.login(user, "wrong password")
    fail("bad-password", "accepted")
except imaplib.IMAP4.error:
    pass
expect("login", m.login(user, password))
ok("STARTTLS then LOGIN")
m.logout()

# 2. Implicit TLS with AUTHENTICATE PLAIN.
m = imaplib.IMAP4_SSL(host, int(tls_port), ssl_context=ctx)
expect("authenticate", m.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode()))
caps = expect("capability", m.capability())
capstr = flat(caps)
for c in ["IDLE", "MOVE", "SPECIAL-USE", "NAMESPACE", "UNSELECT", "ENABLE", "STATUS=SIZE", "LIST-STATUS", "UIDPLUS", "BINARY"]:
    if c not in capstr.split():
        fail("capability", f"{c} missing from {capstr}")
ok("implicit TLS, AUTHENTICATE PLAIN, CAPABILITY")

expect("enable", m._simple_command("ENABLE", "UTF8=ACCEPT"))
ok("ENABLE")
ns = flat(expect("namespace", m.namespace()))
if '(("" "."))' not in ns:
    fail("namespace", ns)
ok("NAMESPACE")

# 3. LIST with SPECIAL-USE, LIST-STATUS, LSUB.
lines = [flat([l]) for l in expect("list", m.list('""', "*"))]
want = {"Sent": "\\Sent", "Drafts": "\\Drafts", "Junk": "\\Junk", "Trash": "\\Trash", "Archive": "\\Archive"}
for name, attr in want.items():
    if not any(re.search(f' "\\." "?{name}"?$', l) and attr in l for l in lines):
        fail("list", f"{name} without {attr}: {lines}")
if not any(re.search(' "\\." "?INBOX"?$', l) for l in lines):
    fail("list", lines)
typ, data = m._simple_command("LIST", "(SPECIAL-USE)", '""', "*")
data = m._untagged_response(typ, data, "LIST")[1]
if typ != "OK" or len(data) != 5:
    fail("list-special-use", data)
ok("LIST with SPECIAL-USE attributes")
typ, data = m._simple_command("LIST", '""', "%", "RETURN", "(STATUS (MESSAGES UNSEEN SIZE))")
st = m._untagged_response(typ, data, "STATUS")[1]
m.untagged_responses.pop("LIST", None)
if typ != "OK" or len(st) < 6 or "SIZE" not in flat(st):
    fail("list-status", st)
ok("LIST-STATUS")

# 4. CREATE/RENAME/DELETE with hierarchy, SUBSCRIBE, LSUB.
expect("create", m.create("Projects.2024.Q1"))
lines = [flat([l]) for l in expect("list-created", m.list('""', "Projects*"))]
names = [re.sub(r'^.* "\." "?(.*?)"?$', r"\1", l) for l in lines]
if names != ["Projects", "Projects.2024", "Projects.2024.Q1"]:
    fail("create-hierarchy", lines)
expect("subscribe", m.subscribe("Projects.2024"))
lsub = flat(expect("lsub", m.lsub('""', "*")))
if "Projects.2024" not in lsub:
    fail("lsub", lsub)
expect("rename", m.rename("Projects", "Work"))
lines = flat(expect("list-renamed", m.list('""', "*")))
if "Work.2024.Q1" not in lines or "Projects" in lines:
    fail("rename-hierarchy", lines)
expect("create-fails", m.create("Work"), "NO")
expect("delete", m.delete("Work.2024.Q1"))
expect("delete-inbox", m.delete("INBOX"), "NO")
expect("unsubscribe", m.unsubscribe("Projects.2024"))
ok("CREATE, RENAME, DELETE with hierarchy; SUBSCRIBE, LSUB")

# 5. APPEND to Sent (a client saving its copy), with flags and date.
sent = (b"From: " + user.encode() + b"\r\nTo: friend@example.net\r\nSubject: saved copy\r\n"
        b"Message-ID: <sent-1@example.org>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nHello friend.\r\n")
typ, data = m.append("Sent", r"(\Seen $Label1)", imaplib.Time2Internaldate(time.mktime((2024, 1, 1, 10, 0, 0, 0, 1, -1))), sent)
if typ != "OK" or "APPENDUID" not in flat(data):
    fail("append", (typ, data))
expect("append-missing", m.append("NoSuchBox", None, None, sent), "NO")
ok("APPEND with APPENDUID")

st = flat(expect("status", m.status("INBOX", "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN SIZE)")))
mm = re.search(r"MESSAGES (\d+)", st)
if not mm or int(mm.group(1)) != 3 or "UIDVALIDITY" not in st or "SIZE" not in st:
    fail("status", st)
status_size = int(re.search(r"SIZE (\d+)", st).group(1))
ok("STATUS with SIZE")

# 6. SELECT, FETCH of every item.
data = expect("select", m.select("INBOX"))
if data != [b"3"]:
    fail("select", data)
sizes = [int(x) for x in re.findall(r"RFC822\.SIZE (\d+)", flat(expect("fetch-sizes", m.fetch("1:*", "(RFC822.SIZE)"))))]
if len(sizes) != 3 or sum(sizes) != status_size:
    fail("status-size", (status_size, sizes))
f = flat(expect("fetch", m.fetch("1:*", "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)")))
if f.count("ENVELOPE") != 3 or "BODYSTRUCTURE" not in f or "INTERNALDATE" not in f or "first message" not in f:
    fail("fetch", f)
f = flat(expect("fetch-peek", m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")))
if "Subject: first message" not in f:
    fail("fetch-peek", f)
f = flat(expect("flags-after-peek", m.fetch("1", "(FLAGS)")))
if "\\Seen" in f:
    fail("peek-sets-seen", f)
f = flat(expect("fetch-partial", m.fetch("1", "(BODY[]<0.10>)")))
if "BODY[]<0> {10}" not in f:
    fail("fetch-partial", f)
f = flat(expect("flags-after-body", m.fetch("1", "(FLAGS)")))
if "\\Seen" not in f:
    fail("body-sets-seen", f)
f = flat(expect("fetch-multipart", m.fetch("3", "(BODY.PEEK[1] BODY.PEEK[2.MIME] BINARY.PEEK[2] BINARY.SIZE[2] BODY.PEEK[TEXT])")))
if "plain part" not in f or "Content-Type: application/octet-stream" not in f or "binary-data!" not in f:
    fail("fetch-sections", f)
f = flat(expect("uid-fetch", m.uid("FETCH", "1:*", "(FLAGS)")))
if f.count("UID") != 3:
    fail("uid-fetch", f)
ok("SELECT; FETCH FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY[] partial PEEK BINARY")

# 7. SEARCH.
def search(step, *criteria, uid=False):
    if uid:
        data = expect(step, m.uid("SEARCH", *criteria))
    else:
        data = expect(step, m.search(None, *criteria))
    return flat(data).split()

checks = [
    (("SUBJECT", '"second message"'), ["2"]),
    (("FROM", '"carol"'), ["2"]),
    (("HEADER", "Message-ID", '"<m1@example.net>"'), ["1"]),
    (("BODY", '"needle"'), ["2"]),
    (("TEXT", '"needle"'), ["2"]),
    (("TEXT", '"first message"'), ["1"]),
    (("SEEN",), ["1"]),
    (("UNSEEN",), ["2", "3"]),
    (("LARGER", "300"), ["3"]), (("SMALLER", "300"), ["1", "2"]),
    (("OR", "SUBJECT", "first", "SUBJECT", "second"), ["1", "2"]),
    (("NOT", "SUBJECT", "first"), ["2", "3"]),
    (("SINCE", "1-Jan-2000"), ["1", "2", "3"]),
    (("SENTBEFORE", "1-Jan-2000"), []),
    (("2:*",), ["2", "3"]),
]
for criteria, want in checks:
    got = search("search " + " ".join(criteria), *criteria)
    if got != want:
        fail("search " + " ".join(criteria), f"{got} != {want}")
got = search("uid-search", "UID", "2:*", uid=True)
if got != ["2", "3"]:
    fail("uid search", got)
ok("SEARCH with header, body, text, flags, size, dates, OR, NOT, UID ranges")

# 8. STORE.
f = flat(expect("store-add", m.store("2", "+FLAGS", r"(\Flagged $Label1)")))
if "\\Flagged" not in f or "$Label1" not in f:
    fail("store-add", f)
f = flat(expect("store-del", m.store("2", "-FLAGS", r"(\Flagged)")))
if "\\Flagged" in f:
    fail("store-del", f)
typ, data = m.store("1:2", "+FLAGS.SILENT", r"(\Answered)")
if typ != "OK" or any(b"FETCH" in (d if isinstance(d, bytes) else d[0]) for d in data if d):
    fail("store-silent", data)
f = flat(expect("store-check", m.fetch("1:2", "(FLAGS)")))
if f.count("\\Answered") != 2:
    fail("store-silent-applied", f)
ok("STORE +FLAGS -FLAGS FLAGS.SILENT and keywords")

# 9. COPY, MOVE, EXPUNGE, UID EXPUNGE.
typ, data = m.copy("1", "Archive")
if typ != "OK" or "COPYUID" not in flat(data):
    fail("copy", (typ, data))
expect("copy-missing", m.copy("1", "NoSuchBox"), "NO")
typ, data = m.uid("MOVE", "2", "Junk")
if typ != "OK":
    fail("move", (typ, data))
moved = m.untagged_responses.pop("EXPUNGE", None)
if moved != [b"2"]:
    fail("move-expunge", moved)
data = expect("after-move", m.search(None, "ALL"))
if flat(data).split() != ["1", "2"]:
    fail("after-move", data)
m.store("1:2", "+FLAGS.SILENT", r"(\Deleted)")
typ, data = m.uid("EXPUNGE", "1")
if typ != "OK":
    fail("uid-expunge", (typ, data))
left = flat(expect("after-uid-expunge", m.uid("SEARCH", "ALL"))).split()
if left != ["3"]:
    fail("uid-expunge", left)
expect("expunge", m.expunge())
left = flat(expect("after-expunge", m.uid("SEARCH", "ALL"))).split()
if left != []:
    fail("expunge", left)
st = flat(expect("status-archive", m.status("Archive", "(MESSAGES)")))
st2 = flat(expect("status-junk", m.status("Junk", "(MESSAGES)")))
if "MESSAGES 1" not in st or "MESSAGES 1" not in st2:
    fail("copy-move-dest", (st, st2))
ok("COPY with COPYUID, UID MOVE, UID EXPUNGE, EXPUNGE")

# 10. UNSELECT, EXAMINE is read-only.
expect("unselect", m._simple_command("UNSELECT"))
expect("examine", m.select("Archive", readonly=True))
typ, data = m.store("1", "+FLAGS", r"(\Deleted)")
if typ == "OK":
    fail("examine-store", data)
f = flat(expect("examine-fetch", m.fetch("1", "(BODY[])")))
f = flat(expect("examine-flags", m.fetch("1", "(FLAGS)")))
if "\\Deleted" in f:
    fail("examine-readonly", f)
expect("close", m.close())
ok("UNSELECT, EXAMINE read-only, CLOSE")

# 11. Another user's mail is out of reach by any name form.
expect("append-for-copy", m.append("INBOX", None, None, b"Subject: mine\r\n\r\nx\r\n"))
expect("select-for-copy", m.select("INBOX"))
for name in [other, f"../{other}", f"../../example.org/{other.split('@')[0]}", f"~{other}",
             "/etc", "..", "INBOX/../..", "&AC4ALg-", "&AC8-etc", f"#shared/{other}", f"Other Users.{other}"]:
    try:
        typ, data = m.select(f'"{name}"')
    except imaplib.IMAP4.error as e:
        typ, data = "BAD", [str(e)]
    if typ == "OK":
        fail("cross-user-select", name)
    typ, data = m.append(f'"{name}"', None, None, b"Subject: x\r\n\r\nx\r\n")
    if typ == "OK":
        fail("cross-user-append", name)
    typ, data = m.status(f'"{name}"', "(MESSAGES)")
    if typ == "OK":
        fail("cross-user-status", name)
    expect("reselect", m.select("INBOX"))
    typ, data = m.copy("1", f'"{name}"')
    if typ == "OK":
        fail("cross-user-copy", name)
    typ, data = m.uid("MOVE", "1:*", f'"{name}"')
    if typ == "OK":
        fail("cross-user-move", name)
    if "/" in name or ".." in name or "&" in name:
        typ, data = m.create(f'"{name}"')
        if typ == "OK":
            fail("cross-user-create", name)
lines = flat(expect("list-all", m.list('""', "*")))
if other.split("@")[0] in lines or "secret" in lines:
    fail("cross-user-list", lines)
ok("another user's mailboxes unreachable")

m.logout()
ok("LOGOUT")
