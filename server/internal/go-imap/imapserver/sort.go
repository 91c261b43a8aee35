package imapserver

// sluice: this file is not in go-imap v2.0.0-beta.8; see README.md.

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// SortKey is a SORT criterion's key (RFC 5256, RFC 5957).
type SortKey string

const (
	SortKeyArrival     SortKey = "ARRIVAL"
	SortKeyCc          SortKey = "CC"
	SortKeyDate        SortKey = "DATE"
	SortKeyFrom        SortKey = "FROM"
	SortKeySize        SortKey = "SIZE"
	SortKeySubject     SortKey = "SUBJECT"
	SortKeyTo          SortKey = "TO"
	SortKeyDisplayFrom SortKey = "DISPLAYFROM"
	SortKeyDisplayTo   SortKey = "DISPLAYTO"
)

// SortCriterion is one key of a SORT command.
type SortCriterion struct {
	Key     SortKey
	Reverse bool
}

// SessionSort is a session that answers SORT (RFC 5256) and, with
// imap.CapESort advertised, its RETURN options (RFC 5267). The server
// must advertise imap.CapSort.
type SessionSort interface {
	// Sort returns the numbers (sequence numbers or UIDs, after kind) of
	// the messages matching criteria, in the order of the sort keys.
	Sort(kind NumKind, criteria *imap.SearchCriteria, keys []SortCriterion) ([]uint32, error)
}

// ThreadData is one thread of a THREAD response: a chain of messages,
// each the parent of the next, then the sub-threads of the last one.
type ThreadData struct {
	Chain      []uint32
	SubThreads []ThreadData
}

// SessionThread is a session that answers THREAD (RFC 5256). The server
// must advertise "THREAD=" capabilities for the algorithms it accepts.
type SessionThread interface {
	Thread(kind NumKind, algorithm imap.ThreadAlgorithm, criteria *imap.SearchCriteria) ([]ThreadData, error)
}

// readCharsetAndSearchKeys reads "SP charset SP search-key *(SP
// search-key)" CRLF, as SORT and THREAD end.
func readCharsetAndSearchKeys(dec *imapwire.Decoder) (*imap.SearchCriteria, error) {
	var charset string
	if !dec.ExpectSP() || !dec.ExpectAString(&charset) || !dec.ExpectSP() {
		return nil, dec.Err()
	}
	switch strings.ToUpper(charset) {
	case "US-ASCII", "UTF-8":
	default:
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeBadCharset,
			Text: "Only US-ASCII and UTF-8 are supported charsets"}
	}
	var criteria imap.SearchCriteria
	for {
		if err := readSearchKey(&criteria, dec); err != nil {
			return nil, fmt.Errorf("in search-key: %w", err)
		}
		if !dec.SP() {
			break
		}
	}
	if !dec.ExpectCRLF() {
		return nil, dec.Err()
	}
	return &criteria, nil
}

func (c *Conn) handleSort(tag string, dec *imapwire.Decoder, numKind NumKind) error {
	session, ok := c.session.(SessionSort)
	if !ok || !c.server.options.caps().Has(imap.CapSort) {
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unknown command"}
	}
	if !dec.ExpectSP() {
		return dec.Err()
	}
	var options imap.SearchOptions
	extended := false
	var atom string
	if dec.Atom(&atom) {
		if !strings.EqualFold(atom, "RETURN") || !c.server.options.caps().Has(imap.CapESort) {
			return newClientBugError("Expected sort criteria")
		}
		if err := readSearchReturnOpts(dec, &options); err != nil {
			return fmt.Errorf("in sort-return-opts: %w", err)
		}
		if options.ReturnSave {
			return newClientBugError("SORT RETURN (SAVE) is not supported")
		}
		if !dec.ExpectSP() {
			return dec.Err()
		}
		extended = true
	}
	var keys []SortCriterion
	err := dec.ExpectList(func() error {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		var crit SortCriterion
		if strings.EqualFold(name, "REVERSE") {
			crit.Reverse = true
			if !dec.ExpectSP() || !dec.ExpectAtom(&name) {
				return dec.Err()
			}
		}
		switch key := SortKey(strings.ToUpper(name)); key {
		case SortKeyArrival, SortKeyCc, SortKeyDate, SortKeyFrom, SortKeySize, SortKeySubject, SortKeyTo:
			crit.Key = key
		case SortKeyDisplayFrom, SortKeyDisplayTo:
			if !c.server.options.caps().Has(imap.CapSortDisplay) {
				return newClientBugError("Unknown sort key")
			}
			crit.Key = key
		default:
			return newClientBugError("Unknown sort key")
		}
		keys = append(keys, crit)
		return nil
	})
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return newClientBugError("Empty sort criteria")
	}
	criteria, err := readCharsetAndSearchKeys(dec)
	if err != nil {
		return err
	}
	if err := c.checkState(imap.ConnStateSelected); err != nil {
		return err
	}
	nums, err := session.Sort(numKind, criteria, keys)
	if err != nil {
		return err
	}
	enc := newResponseEncoder(c)
	defer enc.end()
	if !extended {
		enc.Atom("*").SP().Atom("SORT")
		for _, n := range nums {
			enc.SP().Number(n)
		}
		return enc.CRLF()
	}
	if !options.ReturnMin && !options.ReturnMax && !options.ReturnAll && !options.ReturnCount {
		options.ReturnAll = true
	}
	enc.Atom("*").SP().Atom("ESEARCH").SP().Special('(').Atom("TAG").SP().String(tag).Special(')')
	if numKind == NumKindUID {
		enc.SP().Atom("UID")
	}
	if len(nums) > 0 {
		if options.ReturnMin {
			enc.SP().Atom("MIN").SP().Number(nums[0])
		}
		if options.ReturnMax {
			enc.SP().Atom("MAX").SP().Number(nums[len(nums)-1])
		}
		if options.ReturnAll {
			enc.SP().Atom("ALL").SP().Atom(orderedSet(nums))
		}
	}
	if options.ReturnCount {
		enc.SP().Atom("COUNT").SP().Number(uint32(len(nums)))
	}
	return enc.CRLF()
}

// orderedSet writes numbers as a sequence set that keeps their order
// (RFC 5267 section 3.2: ESORT's ALL is in sort order), joining only
// ascending runs into ranges.
func orderedSet(nums []uint32) string {
	var b strings.Builder
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(nums[i]), 10))
		if j > i {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(nums[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}

func (c *Conn) handleThread(dec *imapwire.Decoder, numKind NumKind) error {
	session, ok := c.session.(SessionThread)
	if !ok {
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Unknown command"}
	}
	var name string
	if !dec.ExpectSP() || !dec.ExpectAtom(&name) {
		return dec.Err()
	}
	alg := imap.ThreadAlgorithm(strings.ToUpper(name))
	if !c.server.options.caps().Has(imap.Cap("THREAD=" + string(alg))) {
		return newClientBugError("Unknown threading algorithm")
	}
	criteria, err := readCharsetAndSearchKeys(dec)
	if err != nil {
		return err
	}
	if err := c.checkState(imap.ConnStateSelected); err != nil {
		return err
	}
	threads, err := session.Thread(numKind, alg, criteria)
	if err != nil {
		return err
	}
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("THREAD")
	if len(threads) > 0 {
		enc.SP()
	}
	for _, t := range threads {
		writeThread(enc.Encoder, t)
	}
	return enc.CRLF()
}

func writeThread(enc *imapwire.Encoder, t ThreadData) {
	enc.Special('(')
	for i, n := range t.Chain {
		if i > 0 {
			enc.SP()
		}
		enc.Number(n)
	}
	if len(t.SubThreads) > 0 && len(t.Chain) > 0 {
		enc.SP()
	}
	for _, sub := range t.SubThreads {
		writeThread(enc, sub)
	}
	enc.Special(')')
}
