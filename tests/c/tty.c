/* The console is a terminal: TCGETS and TIOCGWINSZ work (run with stdout on a tty). */
#include <stdio.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

int main(void) {
    struct winsize ws;
    struct termios t;
    printf("isatty(1): %d\n", isatty(1));
    int r = tcgetattr(1, &t);
    printf("tcgetattr: %d icanon=%d echo=%d\n", r, (t.c_lflag & ICANON) != 0, (t.c_lflag & ECHO) != 0);
    r = ioctl(1, TIOCGWINSZ, &ws);
    printf("TIOCGWINSZ: %d rows>0=%d cols>0=%d\n", r, ws.ws_row > 0, ws.ws_col > 0);
    return 0;
}
