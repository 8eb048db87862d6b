/* A plain main() for a fuzz harness: run LLVMFuzzerTestOneInput over files
 * and the files of directories (not recursive, sorted, dotfiles skipped).
 * CTest runs one of these per harness over its seed and regression corpora,
 * so every crash ever found stays fixed, under ASan in sanitizer builds.
 *
 *   fuzz_replay_<harness> [-v] [--rows] [--expect TEXT] PATH...
 *     -v         print each input's outcome (engine harnesses say where the
 *                connection ended)
 *     --rows     print the transition-table rows the inputs reached (library
 *                built with DK_FUZZING)
 *     --expect   fail unless every input named hs-* ends with an outcome
 *                starting with TEXT (the generator's full handshakes)
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

/* Engine harnesses link fuzz_rows.c, whose definition wins. */
__attribute__((weak)) bool fuzz_rows_print(FILE *f)
{
    fprintf(f, "rows: this harness does not run the state machine\n");
    return false;
}

typedef struct opts {
    bool verbose, rows;
    const char *expect;
    size_t runs, failures;
} opts;

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        uint8_t *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    *len = n;
    return buf;
}

static bool run_file(opts *o, const char *path)
{
    size_t len;
    uint8_t *data = read_all(path, &len);
    if (!data) {
        fprintf(stderr, "cannot read %s\n", path);
        return false;
    }
    /* An exact-size copy: ASan reports any read past the input's end. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) abort();
    memcpy(exact, data, len);
    free(data);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    o->runs++;
    const char *out = fuzz_outcome();
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (o->verbose && out) printf("%s: %s\n", path, out);
    if (o->expect && strncmp(base, "hs-", 3) == 0 &&
        (!out || strncmp(out, o->expect, strlen(o->expect)) != 0)) {
        fprintf(stderr, "%s: expected \"%s...\", got \"%s\"\n", path, o->expect, out ? out : "");
        o->failures++;
    }
    return true;
}

static bool run_dir(opts *o, const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "cannot list %s\n", dir);
        return false;
    }
    bool ok = true;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            struct stat st;
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) ok = run_file(o, path) && ok;
        }
        free(names[i]);
    }
    free(names);
    return ok;
}

int main(int argc, char **argv)
{
    opts o = {0};
    bool ok = true;
    int paths = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0) {
            o.verbose = true;
        } else if (strcmp(argv[i], "--rows") == 0) {
            o.rows = true;
        } else if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc) {
            o.expect = argv[++i];
        } else {
            struct stat st;
            paths++;
            if (stat(argv[i], &st) != 0) {
                fprintf(stderr, "no such file or directory: %s\n", argv[i]);
                ok = false;
            } else {
                ok = (S_ISDIR(st.st_mode) ? run_dir(&o, argv[i]) : run_file(&o, argv[i])) && ok;
            }
        }
    }
    if (paths == 0) {
        fprintf(stderr, "usage: %s [-v] [--rows] [--expect TEXT] PATH...\n", argv[0]);
        return 2;
    }
    printf("replayed %zu inputs\n", o.runs);
    if (o.rows) fuzz_rows_print(stdout);
    return ok && o.failures == 0 ? 0 : 1;
}
