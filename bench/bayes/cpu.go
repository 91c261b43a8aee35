package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"
)

// profile is the -cpuprofile file, "" for none.
var profile string

// memProfile is the -memprofile file, "" for none. Garbage is a large part
// of classification's cost (the collector runs on the same core), and a
// CPU profile shows where it is collected, not where it is made.
var memProfile string

// cpuTime returns the CPU time (user + system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startProfile starts the CPU profile and the allocation profile when they
// were asked for and returns the function that stops them.
func startProfile() func() {
	stopMem := startMemProfile()
	if profile == "" {
		return stopMem
	}
	f, err := os.Create(profile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		stopMem()
	}
}

// startMemProfile samples every allocation from now on, when -memprofile
// was given, and returns the function that writes the profile.
func startMemProfile() func() {
	if memProfile == "" {
		return func() {}
	}
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	return func() {
		// The profile is scaled by the rate in force when it is written.
		defer func() { runtime.MemProfileRate = old }()
		f, err := os.Create(memProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// threadCPU returns the CPU time of the calling OS thread; the online
// protocol locks its goroutine to one thread and times each step with it,
// so that other processes on the machine do not count.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rusageThread is RUSAGE_THREAD (Linux).
const rusageThread = 1
