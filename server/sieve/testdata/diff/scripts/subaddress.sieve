require ["fileinto", "subaddress", "envelope"];
if address :is :user "to" "bob" { fileinto "User-bob"; }
if address :is :detail "to" "shopping" { fileinto "Detail-shopping"; }
if address :is :detail "to" "" { fileinto "Detail-empty"; }
if address :matches :detail "from" "invoice-*" { fileinto "Invoice"; }
if envelope :is :user "from" "billing" { fileinto "Env-user"; }
if envelope :is :detail "to" "lists" { fileinto "Env-detail"; }
