require ["variables", "fileinto"];
if header :matches "subject" "[*] *" { set "list" "${1}"; fileinto "Lists/${list}"; }
if address :matches "from" "*@*" { set :lower :upperfirst "who" "${1}"; fileinto "From/${who}/${2}"; }
set "x" "a*b?c";
set :quotewildcard "q" "${x}";
set :length "n" "${x}";
if string :is "${q}" "a\\*b\\?c" { fileinto "Quoted-${n}"; }
if string :matches "${unknown}" "" { fileinto "Unknown-empty"; }
