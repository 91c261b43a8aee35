require ["imap4flags", "fileinto"];
setflag "\\Seen";
addflag ["\\Flagged", "Work"];
if header :contains "subject" "lunch" { addflag "$Lunch"; fileinto "Lunch"; }
removeflag "\\Seen";
if hasflag :is "work" { addflag "\\Answered"; }
