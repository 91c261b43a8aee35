require ["fileinto", "variables"];
if header :matches "x-multi" "*?" { fileinto "A-${1}-${2}"; }
if header :matches "x-multi" "?*" { fileinto "B-${1}-${2}"; }
if header :matches "x-multi" "**d" { fileinto "C-${1}-${2}"; }
if header :matches "x-multi" "s*c*d" { fileinto "D-${1}-${2}"; }
if header :matches "x-multi" "*i*" { fileinto "E-${1}-${2}"; }
if header :matches "subject" "\\\\*" { fileinto "F"; }
if header :matches "x-folded" "one*three" { fileinto "G-${1}"; }
if header :matches "x-folded" "*two*" { fileinto "H"; }
if header :matches :comparator "i;octet" "x-multi" "third" { fileinto "I"; }
if header :matches :comparator "i;octet" "x-multi" "THI?D" { fileinto "J"; }
if header :matches "subject" "*é*" { fileinto "K-${1}"; }
if header :matches "subject" "É*" { fileinto "L"; }
if header :is "subject" "ÉTÉ été" { fileinto "M"; }
if header :is "subject" "été été" { fileinto "N"; }
if header :matches "from" "*" { fileinto "O-${0}"; }
