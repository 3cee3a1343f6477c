/* Terminal job control on the controlling terminal (fd 0): background reads
 * raise SIGTTIN, background writes under TOSTOP and background tcsetattr
 * raise SIGTTOU. Needs a controlling terminal with this process's group in
 * the foreground (under Selkie: the console of the init command). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static volatile int handled;
static void on_sig(int s) { handled = s; }

static const char *err(int r) {
    if (r >= 0) return "ok";
    return errno == EIO ? "EIO" : errno == EINTR ? "EINTR" : errno == ENOTTY ? "ENOTTY" : errno == EPERM ? "EPERM" : "other";
}

/* Runs `body` in a child in its own (background) group; reports how it ended. */
static void in_background(const char *what, void (*body)(void)) {
    pid_t c = fork();
    if (c == 0) {
        setpgid(0, 0);
        body();
        _exit(0);
    }
    setpgid(c, c);
    int st;
    waitpid(c, &st, WUNTRACED);
    if (WIFSTOPPED(st)) {
        printf("%s: stopped by %s\n", what, strsignal(WSTOPSIG(st)));
        kill(c, SIGKILL);
        waitpid(c, &st, 0);
    } else if (WIFEXITED(st)) {
        printf("%s: exited %d\n", what, WEXITSTATUS(st));
    } else {
        printf("%s: killed by %s\n", what, strsignal(WTERMSIG(st)));
    }
}

static void do_read(void) {
    char c;
    printf("  read returned %s\n", err(read(0, &c, 1)));
}

static void read_ignored(void) {
    signal(SIGTTIN, SIG_IGN);
    do_read();
}

static void read_blocked(void) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTTIN);
    sigprocmask(SIG_BLOCK, &s, 0);
    do_read();
}

static void read_handled(void) {
    struct sigaction sa = {.sa_handler = on_sig};
    sigaction(SIGTTIN, &sa, 0);
    do_read();
    printf("  handler saw signal %d\n", handled);
}

static void do_write(void) { printf("  background write went through\n"); }

static void set_attr(void) {
    struct termios t;
    tcgetattr(0, &t);
    printf("  tcsetattr returned %s\n", err(tcsetattr(0, TCSANOW, &t)));
}

static void set_attr_ignored(void) {
    signal(SIGTTOU, SIG_IGN);
    set_attr();
}

static void queries(void) {
    printf("  tcgetpgrp is the parent's group: %s\n", tcgetpgrp(0) == getpgid(getppid()) ? "yes" : "no");
    printf("  tcgetsid is the parent's session: %s\n", tcgetsid(0) == getsid(0) ? "yes" : "no");
}

static void new_session(void) {
    /* A group leader cannot start a session: a child of it does. */
    pid_t c = fork();
    if (c == 0) {
        printf("  setsid: %s\n", err(setsid()));
        printf("  after setsid, tcgetpgrp: %s\n", err(tcgetpgrp(0)));
        printf("  tcsetpgrp: %s\n", err(tcsetpgrp(0, getpid())));
        _exit(0);
    }
    waitpid(c, 0, 0);
}

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    if (!isatty(0) || tcgetpgrp(0) != getpgrp()) {
        printf("jobctl: needs a controlling terminal with this group in the foreground\n");
        return 2;
    }
    in_background("background read", do_read);
    in_background("background read, SIGTTIN ignored", read_ignored);
    in_background("background read, SIGTTIN blocked", read_blocked);
    in_background("background read, SIGTTIN handled", read_handled);
    in_background("background write", do_write);
    struct termios t, saved;
    tcgetattr(0, &saved);
    t = saved;
    t.c_lflag |= TOSTOP;
    tcsetattr(0, TCSANOW, &t);
    in_background("background write under TOSTOP", do_write);
    tcsetattr(0, TCSANOW, &saved);
    in_background("background tcsetattr", set_attr);
    in_background("background tcsetattr, SIGTTOU ignored", set_attr_ignored);
    in_background("background queries", queries);
    in_background("new session", new_session);

    /* Handing the terminal to the child's group makes it the foreground. */
    /* The child goes on once the parent has reported (a pipe orders the lines). */
    int go[2];
    pipe(go);
    pid_t c = fork();
    if (c == 0) {
        char b;
        close(go[1]);
        setpgid(0, 0);
        while (tcgetpgrp(0) != getpid()) usleep(1000);
        read(go[0], &b, 1);
        set_attr();
        _exit(0);
    }
    close(go[0]);
    setpgid(c, c);
    printf("tcsetpgrp to the child: %s\n", err(tcsetpgrp(0, c)));
    write(go[1], "x", 1);
    close(go[1]);
    int st;
    waitpid(c, &st, WUNTRACED);
    printf("foreground child: %s\n", WIFEXITED(st) ? "exited" : "stopped");
    /* Taking it back from the background needs SIGTTOU ignored, as shells do. */
    signal(SIGTTOU, SIG_IGN);
    int r = tcsetpgrp(0, getpgrp());
    printf("tcsetpgrp back: %s, foreground again: %s\n", err(r), tcgetpgrp(0) == getpgrp() ? "yes" : "no");
    printf("jobctl done\n");
    return 0;
}
