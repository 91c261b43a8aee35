require ["editheader", "fileinto", "variables", "relational", "comparator-i;ascii-numeric"];
addheader "X-Sieve" "top";
addheader :last "X-Sieve" "bottom";
if header :matches "x-sieve" "*" { set "first" "${1}"; }
if header :count "eq" :comparator "i;ascii-numeric" "x-sieve" "2" { fileinto "Two-${first}"; }
addheader "Subject" "Replaced";
if header :matches "subject" "*" { fileinto "Subject-${1}"; }
deleteheader "subject";
if not exists "subject" { fileinto "No-subject"; }
deleteheader "received";
deleteheader "auto-submitted";
if exists "auto-submitted" { fileinto "AS-kept"; }
deleteheader :index 1 :last "x-multi";
deleteheader :contains "x-multi" "IRS";
if header :matches "x-multi" "*" { fileinto "Multi-${1}"; }
if header :count "eq" :comparator "i;ascii-numeric" "x-multi" "1" { fileinto "Multi-one"; }
addheader "X-Umlaut" "Grüße";
if header :is "x-umlaut" "Grüße" { fileinto "Decoded"; }
deleteheader :index 2 "x-count";
if header :is "x-count" "0010" { fileinto "Count-first-kept"; }
