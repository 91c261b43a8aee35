package main

import (
	"errors"

	"github.com/sluicemail/sluice/server/diskfree"
)

// newHeadroom watches the data directory's file system against
// limits.min_free and limits.min_free_percent.
func (in *instance) newHeadroom() *diskfree.Monitor {
	l := in.cfg.Limits
	return diskfree.New(diskfree.Options{Path: in.cfg.Data, MinFree: uint64(l.MinFree),
		MinFreePercent: l.MinFreePercent, Logger: in.log})
}

// health is the admin /healthz check: degraded while new mail is refused
// for want of space.
func (in *instance) health() error {
	if in.headroom != nil && in.headroom.Low() {
		return errors.New("data file system below limits.min_free: new mail is refused (452 4.3.1)")
	}
	return nil
}

// freeBytes is the sluice_data_free_bytes gauge.
func (in *instance) freeBytes() float64 { return float64(in.headroom.Free()) }
