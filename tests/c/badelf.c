/* Hostile ELF files: each is written to /tmp and executed by a child; exec
 * must fail with an errno (the child reports it) or, for a valid file, run.
 * The caller goes on after every one. Selkie refuses some files Linux would
 * start and then kill (an entry point outside the code): not differential.
 * Usage: badelf */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* mov $60,%eax; mov $7,%edi; syscall: exit(7) */
static const unsigned char code[] = {0xb8, 0x3c, 0, 0, 0, 0xbf, 7, 0, 0, 0, 0x0f, 0x05};

struct image {
    Elf64_Ehdr eh;
    Elf64_Phdr ph[2];
    unsigned char text[64];
};

/* A valid static executable: one R+X segment at 0x400000 holding the code. */
static struct image base(void) {
    struct image im;
    memset(&im, 0, sizeof im);
    memcpy(im.eh.e_ident, ELFMAG, SELFMAG);
    im.eh.e_ident[EI_CLASS] = ELFCLASS64;
    im.eh.e_ident[EI_DATA] = ELFDATA2LSB;
    im.eh.e_ident[EI_VERSION] = EV_CURRENT;
    im.eh.e_type = ET_EXEC;
    im.eh.e_machine = EM_X86_64;
    im.eh.e_version = EV_CURRENT;
    im.eh.e_entry = 0x400000 + offsetof(struct image, text);
    im.eh.e_phoff = offsetof(struct image, ph);
    im.eh.e_ehsize = sizeof(Elf64_Ehdr);
    im.eh.e_phentsize = sizeof(Elf64_Phdr);
    im.eh.e_phnum = 1;
    im.ph[0].p_type = PT_LOAD;
    im.ph[0].p_flags = PF_R | PF_X;
    im.ph[0].p_offset = 0;
    im.ph[0].p_vaddr = im.ph[0].p_paddr = 0x400000;
    im.ph[0].p_filesz = im.ph[0].p_memsz = sizeof im;
    im.ph[0].p_align = 4096;
    memcpy(im.text, code, sizeof code);
    return im;
}

static void run(const char *name, const void *bytes, size_t len) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/badelf-%s", name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (fd < 0 || write(fd, bytes, len) != (ssize_t)len) {
        printf("%s: cannot write %s\n", name, path);
        return;
    }
    close(fd);
    int p[2];
    pipe(p);
    pid_t c = fork();
    if (c == 0) {
        char *argv[] = {path, NULL};
        execve(path, argv, argv + 1);
        int e = errno;
        write(p[1], &e, sizeof e);
        _exit(127);
    }
    close(p[1]);
    int e = 0;
    ssize_t got = read(p[0], &e, sizeof e);
    close(p[0]);
    int st;
    waitpid(c, &st, 0);
    unlink(path);
    if (got == sizeof e)
        printf("%s: exec failed: %s\n", name, e == ENOEXEC ? "ENOEXEC" : e == ENOMEM ? "ENOMEM" : e == ENOENT ? "ENOENT" : e == EACCES ? "EACCES" : e == ELIBBAD ? "ELIBBAD" : strerror(e));
    else if (WIFEXITED(st))
        printf("%s: ran, exit %d\n", name, WEXITSTATUS(st));
    else
        printf("%s: ran, killed by signal %d\n", name, WTERMSIG(st));
}

int main(void) {
    struct image im = base();
    run("valid", &im, sizeof im);
    run("truncated-header", &im, 40);
    im = base();
    im.eh.e_phoff = 1 << 20;
    run("program-headers-past-the-end", &im, sizeof im);
    im = base();
    im.ph[0].p_filesz = 1 << 20;
    run("segment-past-the-end", &im, sizeof im);
    im = base();
    im.ph[0].p_vaddr += 0x10;
    run("unaligned-segment", &im, sizeof im);
    im = base();
    im.ph[0].p_memsz = 1L << 46;
    run("huge-memsz", &im, sizeof im);
    im = base();
    im.eh.e_entry = 0x900000;
    run("entry-outside-the-code", &im, sizeof im);
    im = base();
    im.eh.e_phnum = 2;
    im.ph[1] = im.ph[0];
    im.ph[1].p_vaddr = im.ph[1].p_paddr = 0x400000;
    im.ph[1].p_flags = PF_R | PF_W;
    run("overlapping-segments", &im, sizeof im);
    im = base();
    im.ph[0].p_vaddr = im.ph[0].p_paddr = 0xffff800000000000UL;
    im.eh.e_entry = im.ph[0].p_vaddr + offsetof(struct image, text);
    run("kernel-address-segment", &im, sizeof im);
    im = base();
    im.ph[0].p_vaddr = im.ph[0].p_paddr = 0x7ffffffff000UL;
    im.eh.e_entry = im.ph[0].p_vaddr + offsetof(struct image, text);
    run("segment-over-the-stack", &im, sizeof im);
    /* PT_INTERP naming a file that does not exist, then one past the end. */
    im = base();
    im.eh.e_phnum = 2;
    im.ph[1] = im.ph[0];
    im.ph[0].p_type = PT_INTERP;
    im.ph[0].p_flags = PF_R;
    im.ph[0].p_offset = offsetof(struct image, text) + 16;
    im.ph[0].p_filesz = im.ph[0].p_memsz = 20;
    memcpy(im.text + 16, "/nonexistent/ld.so", 19);
    run("interpreter-missing", &im, sizeof im);
    im.ph[0].p_offset = 1 << 20;
    run("interpreter-past-the-end", &im, sizeof im);
    puts("the caller went on after every one");
    return 0;
}
