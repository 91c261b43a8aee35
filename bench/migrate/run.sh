#!/usr/bin/env bash
# Import rate from a Dovecot server on loopback: `sluice import imap`
# (messages/s and MB/s over IMAP), the same mail split over USERS users
# copied at once with `import imap --passwords --jobs USERS`, and
# `sluice import maildir` (from the same Maildir on disk). Needs
# dovecot-imapd (Debian). Usage:
#   bash bench/migrate/run.sh [MESSAGES] [KB_PER_MESSAGE] [USERS]
# Prints the summary lines of both imports; nothing here is asserted.
set -euo pipefail
n=${1:-2000}
kb=${2:-20}
users=${3:-4}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/sluice-bench-migrate.XXXXXX)
chmod 755 "$work"
trap 'kill "$(cat "$work/base/master.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$repo" && go build -o "$work/sluice" ./cmd/sluice

# The old server's disk: one user, n messages of about kb KB each in INBOX,
# as Maildir files (Dovecot indexes them at the first login).
md="$work/vmail/example.org/bench"
mkdir -p "$md/cur" "$md/new" "$md/tmp"
python3 - "$md" "$n" "$kb" <<'PY'
import os, random, sys, time
md, n, kb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(1)
words = "mail server migrate folder message dovecot postfix sluice header body".split()
for i in range(n):
    body = "\r\n".join(" ".join(random.choice(words) for _ in range(12)) for _ in range(kb * 1024 // 80))
    raw = (f"From: s{i}@example.net\r\nTo: bench@example.org\r\nSubject: message {i}\r\n"
           f"Message-ID: <bench-{i}@example.net>\r\nDate: Mon, 6 Jan 2020 10:00:00 +0000\r\n\r\n{body}\r\n")
    name = f"{1600000000 + i}.M{i}P1.bench,S={len(raw)}:2,S"
    with open(os.path.join(md, "cur", name), "w", newline="") as f:
        f.write(raw)
PY
mkdir -p "$work/base"
pw=$(doveadm pw -s SHA512-CRYPT -p bench-password)
echo "bench@example.org:$pw" > "$work/passwd"
# USERS more users, each with an equal share of the same messages
# (hard links: Dovecot only reads them).
: > "$work/passwords"
chmod 600 "$work/passwords"
per=$(( n / users ))
for u in $(seq 1 "$users"); do
  mkdir -p "$work/vmail/example.org/u$u/cur" "$work/vmail/example.org/u$u/new" "$work/vmail/example.org/u$u/tmp"
  ls "$md/cur" | sed -n "$(( (u - 1) * per + 1 )),$(( u * per ))p" | while read -r f; do ln "$md/cur/$f" "$work/vmail/example.org/u$u/cur/$f"; done
  echo "u$u@example.org:$pw" >> "$work/passwd"
  echo "u$u@example.org u$u@example.org bench-password" >> "$work/passwords"
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/dovecot.conf" <<CONF
base_dir = $work/base
state_dir = $work/base
log_path = $work/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
default_login_user = nobody
default_internal_user = nobody
first_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:$work/vmail/%d/%n
passdb {
  driver = passwd-file
  args = scheme=CRYPT username_format=%u $work/passwd
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=$work/vmail/%d/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
}
service submission-login {
  inet_listener submission {
    port = 0
  }
}
CONF
chown -R 65534:65534 "$work/vmail"
/usr/sbin/dovecot -c "$work/dovecot.conf"
sleep 1
cat > "$work/sluice.yaml" <<CONF
domains: [example.org]
data: data
CONF
"$work/sluice" import accounts --config "$work/sluice.yaml" "$work/passwd" >/dev/null
echo "== $n messages of ~${kb} KB: sluice import imap (loopback, Dovecot $(dovecot --version | cut -d' ' -f1))"
echo bench-password | "$work/sluice" import imap --config "$work/sluice.yaml" --from "imap://bench@example.org@127.0.0.1:$port" \
  --user bench@example.org --password-stdin --insecure --quiet | tail -2
echo "== the same messages over $users users at once: sluice import imap --passwords --jobs $users"
"$work/sluice" import imap --config "$work/sluice.yaml" --from "imap://127.0.0.1:$port" \
  --passwords "$work/passwords" --jobs "$users" --insecure --quiet | tail -1
echo "== the same Maildir from disk: sluice import maildir (into a fresh data directory)"
sed -i 's/^data: data$/data: data2/' "$work/sluice.yaml"
"$work/sluice" import accounts --config "$work/sluice.yaml" "$work/passwd" >/dev/null
/usr/bin/time -f "%e s elapsed" "$work/sluice" import maildir --config "$work/sluice.yaml" "$work/vmail" --accounts --quiet | tail -2
