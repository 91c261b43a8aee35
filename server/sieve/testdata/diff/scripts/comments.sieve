require /* inline */ "fileinto"; # trailing
/* a block comment
   over lines */
if header :is "SUBJECT" text:
Lunch on Friday?
.
{ fileinto "Text-subject"; }
