require ["variables", "imap4flags", "fileinto"];
set "f" "\\Seen";
addflag "mine" "${f} Custom";
addflag "mine" "\\Flagged";
if hasflag :contains "mine" "custom" { fileinto :flags "${mine}" "Flagged"; }
setflag "${f}";
