if header :is :contains "s" "x" { keep; }
