if header :comparator "i;nosuch" "s" "x" { keep; }
