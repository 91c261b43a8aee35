require ["date", "relational", "fileinto", "variables"];
if date :is "date" "year" "2026" { fileinto "Y2026"; }
if date :value "ge" "date" "date" "2026-12-01" { fileinto "December"; }
if date :zone "+0130" :is "date" "hour" "11" { fileinto "Hour-11"; }
if date :zone "-0800" :matches "date" "iso8601" "*" { set "iso" "${1}"; }
if date :originalzone :matches "date" "std11" "*" { set "std" "${1}"; }
if date :matches "date" "julian" "*" { set "mjd" "${1}"; }
if date :is "date" "weekday" ["0", "6"] { fileinto "Weekend"; }
if date :is "date" "zone" "+0000" { fileinto "Zone-utc"; }
if date :is "x-no-such" "year" "2026" { fileinto "Missing"; }
if date :contains "date" "time" ":" { fileinto "Time-${mjd}"; }
if currentdate :value "ge" "year" "2020" { fileinto "Now"; }
if currentdate :zone "+0000" :value "lt" "date" "2020-01-01" { fileinto "Past"; }
if string :matches "${iso} ${std}" "*" { fileinto "${1}"; }
