require ["encoded-character", "fileinto"];
if header :contains "subject" "${hex: 4c 75}nch" { fileinto "${unicode:41}${unicode: 62 63}"; }
