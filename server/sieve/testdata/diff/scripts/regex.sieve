require ["regex", "fileinto", "variables", "body", "envelope"];
if header :regex "subject" "^(.*) (m[a-z]+)" { fileinto "Groups-${1}-${2}"; }
if header :regex "subject" "[[:digit:]]+" { fileinto "Digits-${0}"; }
if header :regex "subject" "(a|ab)(c|bcd)(d*)" { fileinto "Longest-${0}-${1}-${2}-${3}"; }
if header :regex :comparator "i;octet" "from" "ALICE" { fileinto "Octet"; }
if header :regex "from" "ALICE|RENÉE" { fileinto "Casemap-${0}"; }
if address :regex :domain "from" "^example\\.(org|com)$" { fileinto "Domain-${1}"; }
if envelope :regex :localpart "from" "^([a-z]+)[+](.*)$" { fileinto "Env-${1}-${2}"; }
if header :regex "x-multi" "^s(.)(x)?" { fileinto "Optional-${1}-${2}-"; }
if body :regex :text "(noon|newsletter|invoice [0-9]+)" { fileinto "Body-${1}"; }
if header :regex "subject" "" { fileinto "Empty-matches"; }
if header :regex "x-no-such" ".*" { fileinto "Missing"; }
