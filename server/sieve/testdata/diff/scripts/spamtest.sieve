require ["spamtestplus", "fileinto", "relational", "comparator-i;ascii-numeric", "variables"];
if spamtest :value "ge" :comparator "i;ascii-numeric" "8" { fileinto "Spam-8"; }
if spamtest :value "lt" :comparator "i;ascii-numeric" "3" { fileinto "Low"; }
if spamtest :is "0" { fileinto "Untested"; }
if spamtest :percent :value "gt" :comparator "i;ascii-numeric" "75" { fileinto "Percent-75"; }
if spamtest :percent :matches "*" { fileinto "Percent-${1}"; }
if spamtest :matches "*" { fileinto "Value-${1}"; }
