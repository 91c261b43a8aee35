require ["imap4flags", "fileinto"];
fileinto :flags ["\\Flagged", "\\Seen"] "Important";
keep :flags "\\Deleted Foo";
