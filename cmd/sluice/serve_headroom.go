package main

import "github.com/sluicemail/sluice/server/diskfree"

// newHeadroom watches the data directory's file system against
// limits.min_free and limits.min_free_percent.
func (in *instance) newHeadroom() *diskfree.Monitor {
	l := in.cfg.Limits
	return diskfree.New(diskfree.Options{Path: in.cfg.Data, MinFree: uint64(l.MinFree),
		MinFreePercent: l.MinFreePercent, Logger: in.log})
}

// freeBytes is the sluice_data_free_bytes gauge.
func (in *instance) freeBytes() float64 { return float64(in.headroom.Free()) }
