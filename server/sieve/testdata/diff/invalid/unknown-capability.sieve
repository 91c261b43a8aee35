require "nosuch";
