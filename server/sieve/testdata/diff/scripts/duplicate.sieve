require ["duplicate", "fileinto", "variables"];
if duplicate { fileinto "Seen"; }
if duplicate :header "subject" :seconds 60 { fileinto "Seen-subject"; }
if duplicate :uniqueid "${0}" :handle "lists" :last { fileinto "Seen-unique"; }
if duplicate :header "x-no-such" { fileinto "Seen-missing"; }
