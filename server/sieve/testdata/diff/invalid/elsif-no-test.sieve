if true { keep; }
elsif { keep; }
