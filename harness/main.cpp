#include <cstdio>
int main() { std::puts("tbptt " TBPTT_GIT_DESCRIBE); return 0; }
