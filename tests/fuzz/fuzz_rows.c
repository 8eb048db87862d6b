/* Row coverage of the transition tables, from the counters dk_sm_handle
 * bumps in DK_FUZZING builds (linked into the engine harnesses only; the
 * replay driver has a weak stand-in for the others). */
#include "conn/dk_sm_int.h"
#include "fuzz_common.h"

/* ---- rows ---------------------------------------------------------------- */

static const char *event_name(uint16_t ev)
{
    return ev == DK_EV_CCS ? "ChangeCipherSpec" : dk_hs_type_name((uint8_t)ev);
}

static size_t rows_print_role(FILE *f, dk_role role, size_t *total)
{
    size_t n, nh;
    const dk_sm_row *t = dk_sm_table(role, &n);
    const uint64_t *hits = dk_sm_row_hits(role, &nh);
    size_t reached = 0;
    for (size_t i = 0; i < n && i < nh; i++) {
        if (hits[i]) reached++;
        char next[32];
        snprintf(next, sizeof next, "%s",
                 t[i].next == 0xFF ? "(stay)" : dk_sm_name(role, t[i].next));
        fprintf(f, "  %-6s row %2zu  %-14s + %-18s -> %-14s %10llu%s\n",
                role == DK_ROLE_CLIENT ? "client" : "server", i, dk_sm_name(role, t[i].state),
                event_name(t[i].event), next, (unsigned long long)hits[i],
                hits[i] ? "" : "  (not reached)");
    }
    *total = n;
    return reached;
}

static bool any_hit(dk_role role)
{
    size_t n;
    const uint64_t *hits = dk_sm_row_hits(role, &n);
    for (size_t i = 0; i < n; i++)
        if (hits[i]) return true;
    return false;
}

/* The tables of the roles that ran (both if none did). */
bool fuzz_rows_print(FILE *f)
{
    size_t n;
    if (!dk_sm_row_hits(DK_ROLE_CLIENT, &n)) {
        fprintf(f, "rows: not counted (library built without DK_FUZZING)\n");
        return false;
    }
    bool cl = any_hit(DK_ROLE_CLIENT), sv = any_hit(DK_ROLE_SERVER);
    if (!cl && !sv) cl = sv = true;
    static const dk_role roles[2] = {DK_ROLE_CLIENT, DK_ROLE_SERVER};
    for (int i = 0; i < 2; i++) {
        if (!(i == 0 ? cl : sv)) continue;
        size_t total;
        size_t reached = rows_print_role(f, roles[i], &total);
        fprintf(f, "rows reached: %s %zu/%zu\n", i == 0 ? "client" : "server", reached, total);
    }
    return true;
}
