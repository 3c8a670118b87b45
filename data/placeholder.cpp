namespace tbptt::data { int placeholder() { return 0; } }
