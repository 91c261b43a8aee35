require "vacation";
vacation :days 5 :subject "Out of office" "I am away until Monday.";
