require ["fileinto", "relational", "comparator-i;ascii-numeric", "subaddress", "envelope"];
if address :is :all "from" "john.doe@example.com" { fileinto "From-all"; }
if address :is :localpart "from" "john.doe" { fileinto "From-local"; }
if address :is :domain "from" "example.com" { fileinto "From-domain"; }
if address :comparator "i;octet" :is :domain "from" "Example.COM" { fileinto "From-domain-octet"; }
if address :count "eq" :comparator "i;ascii-numeric" "to" "3" { fileinto "To-3"; }
if address :is :localpart "to" "ann" { fileinto "Group-member"; }
if address :is :detail "to" "x" { fileinto "Detail-x"; }
if address :is :domain "cc" "example.de" { fileinto "Cc-de"; }
if address :contains "bcc" "local" { fileinto "Bcc-local"; }
if address :is "resent-from" "resent@example.org" { fileinto "Resent"; }
if address :matches :all "sender" "*" { fileinto "Sender"; }
if envelope :is :detail "from" "123" { fileinto "Env-detail"; }
if exists "x-folded" { fileinto "Folded"; }
if header :count "eq" :comparator "i;ascii-numeric" "x-multi" "3" { fileinto "Three"; }
if header :value "eq" "x-multi" "second" { fileinto "Second"; }
