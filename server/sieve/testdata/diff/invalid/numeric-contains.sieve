require ["comparator-i;ascii-numeric"];
if header :contains :comparator "i;ascii-numeric" "s" "1" { keep; }
