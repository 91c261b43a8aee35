require "fileinto";
if header :is "subject" "Lunch on Friday?" { fileinto "Lunch"; }
elsif header :is "Subject" "lunch on friday?" { fileinto "Wrong"; }
else { fileinto "Other"; }
