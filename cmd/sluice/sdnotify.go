package main

import (
	"log/slog"
	"net"
	"os"
)

// sdNotify tells systemd the service's state over $NOTIFY_SOCKET, as
// sd_notify(3) does (a unit with Type=notify waits for READY=1): one
// datagram on a unix socket, "@" naming an abstract one. Without the
// variable it does nothing.
func sdNotify(state string) error {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(state))
	return err
}

// notify is sdNotify with a failure logged: systemd would then kill a
// Type=notify service that never said READY, which the log explains.
func notify(log *slog.Logger, state string) {
	if err := sdNotify(state); err != nil {
		log.Warn("sd_notify failed", "state", state, "err", err)
	}
}
