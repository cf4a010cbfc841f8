// hist_fixture: a program whose one function, hist_fixture_probe,
// icount_cli_test names through hist.py: the test finds its address with
// nm and checks that a user-mode block there is named by function and by
// source line. It only needs to exist; it is never run in the VM.
#include <stdio.h>

__attribute__((noinline)) int hist_fixture_probe(int x) {
  int y = x * 3;
  return y + 1;
}

int main(int argc, char** argv) {
  (void)argv;
  printf("%d\n", hist_fixture_probe(argc));
  return 0;
}
