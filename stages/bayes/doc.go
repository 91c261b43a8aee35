// Package bayes is the Bayesian spam stage (namespace "bayes"): a tokenizer
// that turns a MIME message (RFC 5322, RFC 2045–2047) into the features that
// separate spam from ham, a model that counts in how many spam and ham
// messages each token appeared (github.com/jbrukh/bayesian holds the counts
// and persists them), and a scorer that combines the per-token estimates of
// Gary Robinson ("A Statistical Approach to the Spam Problem", 2003) with
// Fisher's inverse chi-square method, as SpamBayes, bogofilter and
// SpamAssassin do. The combined score has an "unsure" middle instead of the
// over-confident extremes of a plain naive Bayes product. Beside the counts,
// an online logistic regression over hashed character 4-grams and tokens
// (lr.go) learns from the same messages; bayes.spam joins the two in
// log-odds, which halved 1 − AUC on the online benchmark (bench/bayes).
//
// The model lives in a file in the data directory, written atomically and
// reloaded when another process (sluice train) changes it; the Store
// interface keeps the counts replaceable by a shared store. The counts can
// age (aging.go, off by default): past a bound of messages learnt they
// are halved, so that old mail weighs less and the file stays bounded.
package bayes
