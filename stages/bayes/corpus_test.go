package bayes

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Synthetic mail for the model tests: spam and ham drawn from two
// vocabularies that overlap in common words, so that the counts, not the
// words alone, decide.
var (
	spamWords = strings.Fields("cheap pills offer viagra winner lottery prize claim free money credit loan " +
		"casino bonus click unsubscribe guaranteed limited discount replica watches pharmacy refinance")
	hamWords = strings.Fields("meeting agenda kernel patch review build release notes thanks lunch tomorrow " +
		"project deadline draft minutes budget report commit branch merge compiler")
	commonWords = strings.Fields("the and you for this that with have your will please today")
)

// synthMessage returns message n of a class: a header and a body of 40
// words, three quarters from the class's vocabulary.
func synthMessage(spam bool, n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), map[bool]uint64{true: 1, false: 2}[spam]))
	vocab, from, subj := hamWords, "colleague@work.example", "Re: project"
	if spam {
		vocab, from, subj = spamWords, "promo@deals.example", "Amazing offer"
	}
	var body []string
	for range 40 {
		if r.IntN(4) == 0 {
			body = append(body, commonWords[r.IntN(len(commonWords))])
		} else {
			body = append(body, vocab[r.IntN(len(vocab))])
		}
	}
	return fmt.Appendf(nil, "From: %s\r\nTo: me@home.example\r\nSubject: %s %d\r\nDate: Mon, 16 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%d.%v@x.example>\r\n\r\n%s\r\n",
		from, subj, n, n, spam, strings.Join(body, " "))
}

// train teaches m n messages of each class, numbered from first.
func train(m *Model, first, n int) error {
	for i := first; i < first+n; i++ {
		if _, err := m.Learn(synthMessage(true, i), Spam); err != nil {
			return err
		}
		if _, err := m.Learn(synthMessage(false, i), Ham); err != nil {
			return err
		}
	}
	return nil
}
