package main

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/sluicemail/sluice/server/managesieve"
	"github.com/sluicemail/sluice/server/queue"
	"github.com/sluicemail/sluice/server/sieve"
	"github.com/sluicemail/sluice/server/sieve/deliver"
	"github.com/sluicemail/sluice/server/sieve/scripts"
	"github.com/sluicemail/sluice/server/store"
)

// sieveParts are the users' Sieve filters: their scripts, run at local
// delivery after the rules, and ManageSieve to edit them.
type sieveParts struct {
	scripts      *scripts.Store
	sieveDeliver *deliver.Deliverer
	manageSieve  *managesieve.Server
}

// sieveDeliverer wraps the store so that local delivery runs each user's
// active script; route sends replies to local senders straight to them.
// The queue is handed over once open (linkSieveQueue).
func (in *instance) sieveDeliverer(route func(string) ([]queue.Recipient, bool)) store.Deliverer {
	in.scripts = scripts.New(in.store.UserDir, sieve.Limits{})
	in.sieveDeliver = &deliver.Deliverer{Store: in.store, Scripts: in.scripts, Forward: in.forward,
		Hostname: in.cfg.Hostname, Route: route, Logger: in.log}
	return in.sieveDeliver
}

func (in *instance) linkSieveQueue() { in.sieveDeliver.SetQueue(in.queue) }

// startManageSieve listens on listen.managesieve, if set.
func (in *instance) startManageSieve(tlsConf *tls.Config) error {
	addr := in.cfg.Listen.ManageSieve
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("managesieve: %w", err)
	}
	in.manageSieve = managesieve.New(managesieve.Options{Scripts: in.scripts, Auth: in.accounts,
		TLSConfig: tlsConf, Logger: in.log})
	go in.manageSieve.Serve(ln)
	in.addrs = append(in.addrs, fmt.Sprintf("%-12s %s", "managesieve", ln.Addr()))
	return nil
}

func (in *instance) stopManageSieve() {
	if in.manageSieve != nil {
		in.manageSieve.Close()
	}
}
