namespace tbptt::results { int placeholder() { return 0; } }
