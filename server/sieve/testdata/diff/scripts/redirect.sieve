redirect "bob@example.net";
redirect "Bob <bob@example.net>";
redirect "other@example.net";
