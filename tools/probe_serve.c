/* --serve: the probe as a misbehaving server (client-side scenarios). */
#include "probe.h"

void pr_run_serve(const pr_opts *o, const pr_scenario *sc, pr_wire *w, pr_result *res)
{
    (void)o;
    (void)sc;
    (void)w;
    pr_set_result(res, PR_INCONCLUSIVE, "--serve is not implemented yet");
}
