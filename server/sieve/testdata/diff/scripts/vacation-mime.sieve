require ["vacation", "variables"];
set "who" "Bob";
vacation :mime :days 1 :from "Bob <bob@example.com>" text:
Content-Type: text/plain; charset=utf-8

${who} is away.
.
;
