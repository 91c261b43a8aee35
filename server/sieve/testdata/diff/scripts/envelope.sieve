require ["envelope", "fileinto"];
if envelope :is "from" "alice@example.org" { fileinto "Env-alice"; }
if envelope :domain :is "to" "example.com" { fileinto "Env-to-com"; }
if envelope :localpart :contains "from" "news" { fileinto "Env-news"; }
