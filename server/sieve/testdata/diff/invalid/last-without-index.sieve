require "index";
if header :last "x" "y" { keep; }
