/* llc_estimate_settings.h - the settings JSON of an estimate: what the user
 * asked for, stored with every estimate row (and the key for skipping work
 * already done), and its inverse, which turns a stored settings object back
 * into the estimate config and sweep options that make the same numbers
 * (llc check re-runs a baseline with it).
 *
 * Keys: sampler ("sgld"/"rmsprop"; "none" from older stores), eps (a number,
 * "auto" = chosen at each checkpoint, "auto@last" = chosen once per target
 * at the run's last checkpoint), eps_divisor (automatic eps only; absent in
 * older stores, meaning 1), eps_ref_step (where "auto@last" chose: derived,
 * ignored when read), gamma, nbeta (a number or "default"), chains, draws,
 * burnin and thin (a number or "auto"), batch, init_batches, mala_every,
 * paired ("auto", "on", "off"; absent = "auto"), seed, check_bias (true, or
 * absent), version (who wrote it, ignored when read).
 */
#ifndef LLC_ESTIMATE_SETTINGS_H
#define LLC_ESTIMATE_SETTINGS_H

#include <cjson/cJSON.h>

#include "llc_estimate.h"

/* How the estimates of a sweep are made beyond the config. */
typedef struct {
    int per_traj;   /* automatic eps chosen once per target at the run's last checkpoint */
    int check_bias; /* each estimate also checked with the batch x4 and eps/2 */
} llc_estimate_settings_opts;

/* The canonical compact JSON of c and o (free with cJSON_free); eps_ref_step
 * is the checkpoint where a per-trajectory eps is chosen (ignored unless
 * o->per_traj and eps is automatic). NULL when out of memory. */
char *llc_estimate_settings_json(const llc_estimate_config *c, const llc_estimate_settings_opts *o,
                                 long long eps_ref_step);

/* The inverse: c (already holding the defaults for the run, e.g. from
 * llc_estimate_config_default) gets every setting of s, o the sweep
 * options. LLC_ERR_INVALID with a message naming the key for an unknown key,
 * a value of the wrong type or out of range (llc_estimate_config_check). */
int llc_estimate_settings_parse(const cJSON *s, llc_estimate_config *c, llc_estimate_settings_opts *o, char *err);

#endif
