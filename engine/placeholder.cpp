namespace tbptt::engine { int placeholder() { return 0; } }
