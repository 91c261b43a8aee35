//go:build !linux

package imap

// quickAckSupported: TCP_QUICKACK is a Linux option; elsewhere reads
// leave the kernel's ACK timing alone.
const quickAckSupported = false

func setQuickAck(fd uintptr) {}
