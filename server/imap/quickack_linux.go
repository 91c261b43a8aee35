package imap

import "syscall"

const quickAckSupported = true

// setQuickAck turns on TCP_QUICKACK on fd; when an ACK is pending, the
// kernel sends it now. Errors are ignored: without it the connection
// only keeps delayed ACKs.
func setQuickAck(fd uintptr) {
	syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
}
