require ["fileinto", "comparator-i;ascii-numeric", "relational"];
if header :value "gt" :comparator "i;ascii-numeric" "x-spam-score" "10" { fileinto "Score-gt-10"; }
if header :value "lt" :comparator "i;ascii-numeric" "x-spam-score" "9" { fileinto "Score-lt-9"; }
if header :is :comparator "i;ascii-numeric" "x-count" "10" { fileinto "Count-10"; }
if header :count "eq" :comparator "i;ascii-numeric" "x-count" "2" { fileinto "Two-counts"; }
if header :value "ge" :comparator "i;ascii-numeric" "subject" "5" { fileinto "Subject-inf"; }
