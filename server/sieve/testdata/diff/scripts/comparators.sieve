require ["fileinto", "comparator-i;ascii-numeric", "relational"];
if header :is :comparator "i;ascii-casemap" "subject" "été été" { fileinto "Casemap-nonascii"; }
if header :contains :comparator "i;ascii-casemap" "x-multi" "IRS" { fileinto "Casemap"; }
if header :is :comparator "i;octet" "x-multi" "THIRD" { fileinto "Octet"; }
if header :value "lt" :comparator "i;octet" "x-multi" "s" { fileinto "Octet-lt"; }
if header :value "gt" :comparator "i;ascii-casemap" "x-multi" "s" { fileinto "Casemap-gt"; }
if header :is :comparator "i;ascii-numeric" "x-priority" "03" { fileinto "Num-eq"; }
if header :value "eq" :comparator "i;ascii-numeric" "subject" "abc" { fileinto "Num-inf"; }
if header :value "le" :comparator "i;ascii-numeric" ["x-count", "x-spam-score"] "8" { fileinto "Num-le"; }
