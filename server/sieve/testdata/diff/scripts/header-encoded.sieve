require "fileinto";
if header :contains "subject" "café" { fileinto "Cafe-lower"; }
if header :contains "subject" "CAFÉ" { fileinto "Cafe-upper"; }
if header :is "subject" "Café crème and naïve résumé" { fileinto "Decoded"; }
if header :contains "from" "Renée" { fileinto "Renee"; }
