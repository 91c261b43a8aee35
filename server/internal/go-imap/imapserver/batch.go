package imapserver

// sluice: a FETCH or STORE of many messages wrote one response per
// message and flushed the buffered writer after each, so a FETCH 1:* of
// 10,000 messages cost 10,000 write(2) calls and, over TLS, 10,000
// records. During these commands the responses only fill the buffer
// (which still goes out whenever it is full), and the buffer is flushed
// once when the handler returns, before the tagged response.
//
// Nothing is held back past the command: the flush runs whether the
// handler succeeded or not, and no other writer (IDLE's updates) runs
// while a FETCH or STORE is being handled on the connection.

// batchWrites runs handler with CRLF flushing turned off, then flushes.
func (c *Conn) batchWrites(handler func() error) error {
	c.batching.Store(true)
	err := handler()
	c.batching.Store(false)

	c.encMutex.Lock()
	c.setWriteTimeout(respWriteTimeout)
	flushErr := c.bw.Flush()
	c.setWriteTimeout(0)
	c.encMutex.Unlock()
	if err == nil {
		err = flushErr
	}
	return err
}
