require ["fileinto", "mailbox"];
fileinto :create "Lists.Example";
fileinto "Lists.Example";
