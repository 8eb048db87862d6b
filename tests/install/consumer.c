/* A program outside the tree that uses the installed dtlskit: built by
 * tests/install/run.sh through pkg-config and through find_package(dtlskit).
 * It calls only what works without a peer. */
#include <dtlskit/dtlskit.h>

#include <stdio.h>
#include <string.h>

int main(void)
{
    dk_config *cfg = dk_config_new(DK_ROLE_CLIENT);
    if (cfg == NULL) {
        fprintf(stderr, "consumer: dk_config_new failed\n");
        return 1;
    }
    dk_config_free(cfg);
    const char *ok = dk_strerror(DK_OK);
    const char *nomem = dk_strerror(DK_ERR_NOMEM);
    if (ok == NULL || nomem == NULL || nomem[0] == '\0' || strcmp(ok, nomem) == 0) {
        fprintf(stderr, "consumer: dk_strerror gave no distinct messages\n");
        return 1;
    }
    printf("consumer ok: dtlskit %s, dk_strerror(DK_ERR_NOMEM) = \"%s\"\n", DTLSKIT_VERSION,
           nomem);
    return 0;
}
