require ["variables", "fileinto", "relational", "comparator-i;ascii-numeric"];
set :upper "a" "mixed Case";
set :lowerfirst "b" "HELLO";
set :upperfirst :lower "c" "wORLD";
set :length "n" "été";
set "x" "y";
set "y" "nested";
if string :count "eq" :comparator "i;ascii-numeric" ["${a}", "", "${b}"] "2" { fileinto "Count-2"; }
fileinto "${a}-${b}-${c}-${n}";
fileinto "${${x}}-${10}-${}-$-{x}";
if header :matches "subject" "*" { set "s" "${0}"; }
if string :matches "${s}" "*?" { fileinto "Last-${2}"; }
set "empty" "";
if string :is "${empty}" "" { fileinto "Empty-is"; }
if string :count "eq" :comparator "i;ascii-numeric" "${empty}" "0" { fileinto "Empty-count"; }
