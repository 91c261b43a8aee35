require "fileinto";
if header :contains ["X-Spam-Flag", "subject"] ["yes", "invoice"] { fileinto "Junk"; }
