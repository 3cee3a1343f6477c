/* argv, envp and auxv as the loader built them. */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

int main(int argc, char **argv, char **envp) {
    printf("hello from %s\n", argv[0]);
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    int envs = 0;
    for (char **e = envp; *e; e++) envs++;
    printf("envp has entries: %s\n", envs > 0 ? "yes" : "no");
    /* Only variables whose values are the same in the guest and natively. */
    for (char **e = envp; *e; e++)
        if (!strncmp(*e, "SELKIE", 6) || !strncmp(*e, "PATH=", 5) || !strncmp(*e, "HOME=", 5)) printf("env %s\n", *e);
    int ok = 1;
    if (getauxval(AT_PAGESZ) != 4096) { printf("bad AT_PAGESZ\n"); ok = 0; }
    if (!getauxval(AT_PHDR) || !getauxval(AT_ENTRY) || getauxval(AT_PHENT) != 56) { printf("bad phdr/entry\n"); ok = 0; }
    unsigned char *r = (unsigned char *)getauxval(AT_RANDOM);
    int nonzero = 0;
    for (int i = 0; r && i < 16; i++) nonzero |= r[i];
    if (!r || !nonzero) { printf("bad AT_RANDOM\n"); ok = 0; }
    const char *fn = (const char *)getauxval(AT_EXECFN);
    if (!fn || strcmp(fn, argv[0]) != 0) { printf("bad AT_EXECFN\n"); ok = 0; }
    const char *plat = (const char *)getauxval(AT_PLATFORM);
    if (!plat || strcmp(plat, "x86_64") != 0) { printf("bad AT_PLATFORM\n"); ok = 0; }
    if (getauxval(AT_CLKTCK) != 100) { printf("bad AT_CLKTCK\n"); ok = 0; }
    /* The ids differ between hosts; print only how they relate. */
    printf("AT_UID == AT_EUID: %s, AT_GID == AT_EGID: %s, AT_SECURE=%lu\n",
           getauxval(AT_UID) == getauxval(AT_EUID) ? "yes" : "no",
           getauxval(AT_GID) == getauxval(AT_EGID) ? "yes" : "no", getauxval(AT_SECURE));
    printf("%s\n", ok ? "auxv ok" : "auxv BAD");
    return ok ? 0 : 1;
}
