require "fileinto";
if header :matches "subject" "*lunch*" { fileinto "M1"; }
if header :matches "subject" "[shop] *" { fileinto "M2"; }
if header :matches "subject" "????????*" { fileinto "M3"; }
if header :matches "subject" "*\\*\\* paid \\*\\**" { fileinto "M4"; }
if header :matches "subject" "*(ref\\? ?)" { fileinto "M5"; }
if header :matches "subject" "Lunch?on*" { fileinto "M6"; }
if header :matches "x-empty" "" { fileinto "M7"; }
if header :matches "x-empty" "*" { fileinto "M8"; }
if header :matches "subject" "*a*a*a*" { fileinto "M9"; }
