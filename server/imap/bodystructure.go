package imap

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// safeBodyStructure repairs what go-imap's ExtractBodyStructure can build
// from a malformed message and its writer refuses (by panicking, which
// would drop the connection): a multipart with no part gets one empty
// text/plain part, an attached message without a structure or envelope
// gets empty ones, and every node carries extension data, since
// BODYSTRUCTURE asks for it.
func safeBodyStructure(bs imap.BodyStructure) imap.BodyStructure {
	switch b := bs.(type) {
	case *imap.BodyStructureMultiPart:
		if len(b.Children) == 0 {
			b.Children = []imap.BodyStructure{emptyPart()}
		}
		for i, c := range b.Children {
			b.Children[i] = safeBodyStructure(c)
		}
		if b.Subtype == "" {
			b.Subtype = "mixed"
		}
		if b.Extended == nil {
			b.Extended = &imap.BodyStructureMultiPartExt{}
		}
		return b
	case *imap.BodyStructureSinglePart:
		if msg := b.MessageRFC822; msg != nil {
			if msg.Envelope == nil {
				msg.Envelope = &imap.Envelope{}
			}
			msg.BodyStructure = safeBodyStructure(msg.BodyStructure)
		}
		if b.Type == "" || b.Subtype == "" {
			b.Type, b.Subtype = "text", "plain"
		}
		if strings.EqualFold(b.Type, "text") && b.Text == nil {
			b.Text = &imap.BodyStructureText{}
		}
		if b.Encoding == "" {
			b.Encoding = "7bit"
		}
		if b.Extended == nil {
			b.Extended = &imap.BodyStructureSinglePartExt{}
		}
		return b
	}
	return emptyPart()
}

func emptyPart() *imap.BodyStructureSinglePart {
	return &imap.BodyStructureSinglePart{Type: "text", Subtype: "plain", Encoding: "7bit",
		Text: &imap.BodyStructureText{}, Extended: &imap.BodyStructureSinglePartExt{}}
}
