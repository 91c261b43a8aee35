require ["fileinto", "relational", "comparator-i;ascii-numeric"];
if address :count "ge" :comparator "i;ascii-numeric" ["to", "cc"] "3" { fileinto "Many"; }
if header :value "lt" "subject" "M" { fileinto "Before-M"; }
if header :value "gt" :comparator "i;octet" "subject" "[" { fileinto "After-bracket"; }
if header :count "ne" :comparator "i;ascii-numeric" "received" "0" { fileinto "Received"; }
