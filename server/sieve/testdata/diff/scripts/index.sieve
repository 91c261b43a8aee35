require ["index", "date", "fileinto", "variables", "relational", "comparator-i;ascii-numeric"];
if header :index 2 :matches "x-multi" "*" { fileinto "Second-${1}"; }
if header :index 1 :last :matches "x-multi" "*" { fileinto "Last-${1}"; }
if header :index 5 :matches "x-multi" "*" { fileinto "Fifth"; }
if header :index 1 :last :is "x-count" "7" { fileinto "Count-last-7"; }
if header :index 1 :count "eq" :comparator "i;ascii-numeric" "x-multi" "1" { fileinto "Count-one"; }
if address :index 1 :last :is :domain "cc" "example.de" { fileinto "Cc-first-de"; }
if date :index 1 :is "date" "year" "2026" { fileinto "Date-2026"; }
if date :index 2 :is "date" "year" "2026" { fileinto "Date-second"; }
