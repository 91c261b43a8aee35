require ["vacation", "variables"];
if header :matches "subject" "*" { set "s" "${1}"; }
vacation :days 100 :from "bob@example.com" :addresses ["bob@example.com", "bob+shopping@example.com"] :subject "Re: ${s}" :handle "away-2026" text:
I am away.
..dotted line
.
;
