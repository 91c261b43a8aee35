require "fileinto";
if allof (header :contains "from" "alice", not header :contains "subject" "invoice") { fileinto "A"; }
if anyof (false, header :is "auto-submitted" "auto-generated") { fileinto "B"; }
if anyof (not true, allof (true, false)) { fileinto "C"; }
