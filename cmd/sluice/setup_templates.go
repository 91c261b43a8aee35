package main

import "text/template"

// configTemplate is the config `sluice setup` writes: a real server on
// the standard ports, certificates from Let's Encrypt, MTA-STS in
// testing mode. Every key is explained; examples/sluice.yaml has them all.
var configTemplate = template.Must(template.New("sluice.yaml").Parse(`# sluice configuration for {{.Domain}}, written by sluice setup.
# Run: sluice serve --config {{.Dir}}/sluice.yaml
# Check the DNS and the server: sluice doctor --config {{.Dir}}/sluice.yaml
# Relative paths are relative to this file. See examples/sluice.yaml for
# every key.

# The name in the SMTP greeting and HELO; the MX record and the reverse
# DNS of the addresses below must name it.
hostname: {{.Hostname}}

# Mail for these domains is delivered here.
domains:
  - {{.Domain}}

# This server's public addresses (what sluice doctor checks the DNS against).
public_ips:{{if not .IPs}} []{{end}}
{{- range .IPs}}
  - {{.}}
{{- end}}

# Spool, mailboxes, accounts, certificates, the rules (written on first start).
data: data

listen:
  smtp: "[::]:25"           # MX: mail from other servers
  submission: "[::]:587"    # mail clients: STARTTLS, then AUTH
  submissions: "[::]:465"   # mail clients: implicit TLS, then AUTH
  imap: "[::]:143"          # STARTTLS
  imaps: "[::]:993"         # implicit TLS
  http: "[::]:80"           # ACME HTTP-01 challenges, MTA-STS policy, autoconfig
  https: "[::]:443"         # MTA-STS policy and autoconfig over TLS
  admin: 127.0.0.1:8025     # /healthz, /metrics, POST /reload: keep on loopback

# Certificates from Let's Encrypt for {{.Hostname}}, mta-sts.{{.Domain}} and
# autoconfig.{{.Domain}}, renewed by themselves. Until the first one
# arrives a self-signed certificate serves.
tls:
  acme:
    email: postmaster@{{.Domain}}

# Our MTA-STS policy (RFC 8461), served at https://mta-sts.{{.Domain}}/.
# Start in testing; switch to enforce once TLS reports show no failures,
# then publish the new id that sluice setup (or the doctor) prints.
mta_sts:
  mode: testing

# DNS for the checks and relaying: /etc/resolv.conf unless set. A local
# validating resolver (unbound) is best: DNS block lists refuse big public ones.
# dns:
#   servers: ["127.0.0.1:53"]

# Outbound mail goes to each domain's MX on port 25, applying their
# MTA-STS policies and sending them TLS reports. If your provider blocks
# port 25, use a smarthost:
# relay:
#   smarthost: {host: smtp.provider.example, port: 587, username: me, password_file: smarthost.password}

# DKIM signing: two keys, RSA and Ed25519 (RFC 8463 dual signing).
dkim:
  keys:
    - {domain: {{.Domain}}, selector: {{index .Selectors 0}}, key: dkim/{{.Domain}}.rsa.{{index .Selectors 0}}.pem}
    - {domain: {{.Domain}}, selector: {{index .Selectors 1}}, key: dkim/{{.Domain}}.ed25519.{{index .Selectors 1}}.pem}

limits:
  greet_delay: 2s           # MX only: clients that talk before the greeting are dropped

log:
  level: info
`))

// unitTemplate is the systemd unit: a dedicated user, the low ports by
// capability, and a file system read-only but for the data directory.
var unitTemplate = template.Must(template.New("sluice.service").Parse(`# systemd unit for sluice, written by sluice setup. Install:
#   useradd --system --home-dir {{.Dir}} --shell /usr/sbin/nologin sluice
#   chown -R sluice:sluice {{.Dir}}
#   cp {{.Dir}}/sluice.service /etc/systemd/system/ && systemctl enable --now sluice
[Unit]
Description=sluice mail server for {{.Domain}}
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
NotifyAccess=main
User=sluice
Group=sluice
ExecStart={{.Exe}} serve --config {{.Dir}}/sluice.yaml
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
TimeoutStopSec=45
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={{.Dir}}/data
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
UMask=0077
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
`))
