#!/usr/bin/env python3
"""Read a user's Maildir with Python's mailbox module (an independent
Maildir++ reader) and print one line per message: folder, flags, subject.
Usage: read_maildir.py USERDIR"""
import mailbox
import sys

root = mailbox.Maildir(sys.argv[1], factory=None, create=False)
lines = []


def dump(name, md):
    for key in md.keys():
        msg = md[key]
        lines.append(f"{name}|{msg.get_flags()}|{msg['Subject']}")


dump("INBOX", root)
for folder in root.list_folders():
    dump(folder, root.get_folder(folder))
print("\n".join(sorted(lines)))
