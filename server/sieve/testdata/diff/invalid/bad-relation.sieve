require "relational";
if header :value "xx" "s" "1" { keep; }
