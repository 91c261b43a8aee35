package queue

// WaitFor lends the package's polling helper to its external tests
// (package queue_test), so both wait the same way.
var WaitFor = waitFor
