if header :is "s" "unterminated { keep; }
