envelope :is "from" "a@b";
