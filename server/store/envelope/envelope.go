package envelope

import (
	"github.com/emersion/go-imap/v2"
	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// Extract builds the ENVELOPE of a message from its header.
func Extract(h textproto.Header) *imap.Envelope {
	mh := mail.Header{Header: gomessage.Header{Header: h}}
	date, _ := mh.Date()
	subject, err := mh.Subject()
	if err != nil {
		subject = h.Get("Subject")
	}
	inReplyTo, _ := mh.MsgIDList("In-Reply-To")
	messageID, _ := mh.MessageID()
	return &imap.Envelope{
		Date:      date,
		Subject:   subject,
		From:      addressList(h, "From"),
		Sender:    addressList(h, "Sender"),
		ReplyTo:   addressList(h, "Reply-To"),
		To:        addressList(h, "To"),
		Cc:        addressList(h, "Cc"),
		Bcc:       addressList(h, "Bcc"),
		InReplyTo: inReplyTo,
		MessageID: messageID,
	}
}

// addressList parses the first field named k (RFC 5322 allows one).
func addressList(h textproto.Header, k string) []imap.Address {
	if !h.Has(k) {
		return nil
	}
	return ParseAddressList(h.Get(k))
}
