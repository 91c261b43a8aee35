require "fileinto";
if header :comparator "i;octet" :contains "subject" "Invoice" { fileinto "Octet"; }
if header :comparator "i;octet" :contains "subject" "invoice" { fileinto "Octet-lower"; }
