require ["body", "fileinto"];
if body :contains "Café" { fileinto "Text-cafe"; }
if body :text :contains ["only", "<b>"] { fileinto "Text-html"; }
if body :raw :contains "Caf=E9" { fileinto "Raw-qp"; }
if body :raw :contains "preamble" { fileinto "Raw-preamble"; }
if body :content "text" :contains "<b>" { fileinto "Content-text-tag"; }
if body :content "text/html" :contains "Html" { fileinto "Content-html"; }
if body :content "" :contains "secret" { fileinto "Content-all-binary"; }
if body :content "application" :contains "secret" { fileinto "Content-app"; }
if body :content "multipart" :contains ["preamble", "epilogue"] { fileinto "Content-multipart"; }
if body :contains ["lunch", "newsletter", "invoice"] { fileinto "Words"; }
if body :raw :contains "Bonjour à tous" { fileinto "Raw-utf8"; }
if body :text :matches "*noon*" { fileinto "Matches-noon"; }
if body :text :is "" { fileinto "Empty"; }
