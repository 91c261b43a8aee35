require "fileinto";
if address :is :domain "from" "example.org" { fileinto "From-org"; }
if address :is :localpart "to" "bob" { fileinto "To-bob"; }
if address :contains :all ["to", "cc"] "example.net" { fileinto "Net"; }
if address :is :domain "cc" "example.net" { fileinto "Cc-net"; }
if address :matches :all "from" "*@*.example.com" { fileinto "Shop"; }
if address :is "reply-to" "SUPPORT@shop.example.com" { fileinto "Support"; }
