require "fileinto";
if true { stop; }
fileinto "Never";
