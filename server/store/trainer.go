package store

// Trainer is the spam filter's learning side (the Bayes model): moving a
// message into Junk learns it as spam, moving it out learns it as ham.
// Unlearn undoes an earlier Learn of the same class, so that a message
// moved back and forth is counted once, in its latest class.
type Trainer interface {
	Learn(raw []byte, spam bool) error
	Unlearn(raw []byte, spam bool) error
}
