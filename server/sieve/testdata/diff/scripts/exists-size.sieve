require "fileinto";
if exists ["List-Id", "Precedence"] { fileinto "Lists"; }
if not exists "X-Priority" { fileinto "NoPriority"; }
if size :over 400 { fileinto "Big"; }
if size :under 1K { fileinto "Small"; }
